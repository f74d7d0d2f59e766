"""The shared kernel: settings, storage, identity, audit, timeline, events, jobs, clock, errors.

`core` imports nothing else from `mamori`; every domain builds on it.
"""
