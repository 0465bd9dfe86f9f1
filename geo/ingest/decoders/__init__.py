"""One decoder per device protocol, all with one signature (``decoders.message``):

    decode(message: DeviceMessage) -> Decoded        # raises DecodeError naming the field

* ``native``     our batch JSON (device bearer token)
* ``osmand``     OsmAnd / Traccar Client: query, form or JSON (device key in the message)
* ``owntracks``  OwnTracks HTTP mode (HTTP Basic + X-Limit-U/D)
* ``gpx``        a GPX track uploaded by an officer, in a declared datum
* ``jt808``      JT/T 808 location reports read by the TCP listener (geo/ingest/jt808)
"""
from geo.ingest.decoders import gpx, jt808, native, osmand, owntracks
from geo.ingest.decoders.message import Decoded, DeviceMessage

__all__ = ["Decoded", "DeviceMessage", "gpx", "jt808", "native", "osmand", "owntracks"]
