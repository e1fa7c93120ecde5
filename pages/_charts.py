"""Vega-Lite specifications the pages share (not a page), written directly: cheap to build on
every stroke and refresh."""


def field(name, kind="quantitative", **more):
    """One field of a Vega-Lite encoding: its name, its type, and any other properties."""
    return {"field": name, "type": kind, **more}


def digit_bars(values, title, percent=False, height=200, floor=0.0):
    """One bar per digit 0-9, as a Vega-Lite specification (for ``st.vega_lite_chart``): plain
    bars that do not zoom when the page is scrolled with the pointer over them, unlike
    st.bar_chart; written directly, as the Draw page redraws it on every stroke. A ``percent``
    axis runs from ``floor`` to 100%, so that 98.6% and 99.9% do not look the same."""
    scale = {"domain": [floor, 1]} if percent else None
    y = field(title, **({"scale": scale, "axis": {"format": "%"}} if percent else {"axis": {"tickMinStep": 1}}))
    encoding = {
        "x": field("digit", "ordinal", axis={"labelAngle": 0}),
        "y": y,
        "tooltip": [field("digit", "ordinal"), field(title, format=".1%" if percent else "d")],
    }
    if floor:
        encoding["y2"] = {"datum": floor}  # bars rise from the axis's floor, not from a zero below the chart
    return {
        "height": height,
        "data": {"values": [{"digit": d, title: float(v)} for d, v in enumerate(values)]},
        "mark": {"type": "bar"},
        "encoding": encoding,
    }
