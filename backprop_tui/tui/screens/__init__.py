"""One screen per file: picker, debugger, help, dialogs."""
