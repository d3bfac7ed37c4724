"""The inbox section of a shop's dashboard."""

urls: list = []
