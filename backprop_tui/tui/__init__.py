"""The Textual user interface: the step-through debugger, the training dashboard, the scenario
picker and the help.

UI-free rooms (no textual import, tested without a terminal): ``session.py`` holds the state the
debugger's panes show, ``formulas.py`` the formula pane's equations with shapes, ``monitor.py`` the
dashboard's running numbers, and the ``render/`` package turns arrays into rich text. ``app.py``
wires screens (``screens/``, one per file) and widgets (``widgets/``, one per file) to keys.
"""
