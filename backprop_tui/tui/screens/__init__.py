"""One screen per file — picker, debugger, dashboard, help, dialogs — and what they share:
``keys`` (a screen's key table → bindings, help rows), ``size`` (the smallest terminal),
``handoff`` (from the dashboard to the debugger on a copy of the trainer's state)."""
