"""rsbench plugin: CMPAGL (Sun, Zhao, Liu, Kaup, IEEE TGRS 62, 2024; arXiv 2411.14704) as configurable readings."""
