"""The analytics section of a shop's dashboard."""

urls: list = []
