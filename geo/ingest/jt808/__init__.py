"""JT/T 808-2013/2019 (Chinese trackers and wristbands) over TCP.

* ``codec``      framing (0x7e, escapes), checksum, header: pure bytes in, values out
* ``messages``   the message bodies we read (0x0100, 0x0102, 0x0200, 0x0704) and write (0x8001, 0x8100)
* ``terminals``  registration and authentication against the device's credential (database)
* ``listener``   the asyncio TCP server: one connection per terminal, acknowledged after commit

The location decoder with the one decoder signature is ``geo.ingest.decoders.jt808``.
"""
