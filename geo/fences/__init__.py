"""Geofences: each module holds one thing, named for it.

* ``schemas``   -- request and response models (structure only)
* ``service``   -- the scoped, audited API service: create, list, read, version, retire
* ``loading``   -- stored versions -> geo.engine values (what the engine judges)
* ``cache``     -- the in-memory fence sets per supervisee, refreshed by generation

Import the module you mean (``from geo.fences import service``); this file
re-exports nothing, so loading the cache at ingest does not pull in the service.
"""
