"""OwnTracks over MQTT (OwnTracks' default mode).

* ``broker_files``  the broker's password_file and acl_file, generated from the devices table
* ``acl_sync``      keeps them in step (NOTIFY trigger + interval) and reloads the broker
* ``consume``       one batch of messages through the same decoder and pipeline as HTTP
* ``worker``        the subscriber: batches, commits, then acknowledges (QoS 1)

Run by ``zhijiao mqtt-ingest`` (api/cli.py).
"""
