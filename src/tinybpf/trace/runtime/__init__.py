"""Running a compiled trace: attach points, the event loop, printing (text and JSON), printf, listing and
``--info``."""
