"""The Textual user interface: the step-through debugger, the scenario picker and the help.

``session.py`` holds the state the screens show (no textual import); ``render.py`` turns arrays
into rich text; ``app.py`` wires screens, widgets and key bindings.
"""
