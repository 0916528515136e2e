"""The `lanyard` commands, one module per group (registered in ``lanyard_cli/main.py``).

A command module imports the core (``digest``, ``scheduler``) and the shared helpers of
``lanyard_cli`` (``app``, ``display``, ``progress``, ``steps``), never another command module.
"""
