"""One decoder per device protocol; each turns request input into DecodedFix values or raises DecodeError.

* ``native.decode(body)`` -> list[DecodedFix]          our batch JSON
* ``osmand.decode(params, json_body)`` -> (key, fix)    OsmAnd / Traccar Client
* ``owntracks.decode(body, headers)`` -> list[DecodedFix]
* ``gpx.decode(data, datum=...)`` -> list[DecodedFix]   track import
"""
from geo.ingest.decoders import gpx, native, osmand, owntracks

__all__ = ["gpx", "native", "osmand", "owntracks"]
