"""The local stack: AWS emulator, resources and the `make run` launcher."""
