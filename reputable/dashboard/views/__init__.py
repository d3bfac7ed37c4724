"""The dashboard's views, one module per section; each lists its `urls`."""
