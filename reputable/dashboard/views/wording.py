"""The wording section of a shop's dashboard."""

urls: list = []
