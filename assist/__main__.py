"""`python -m assist` is the `assist` command."""

from .cli import main

if __name__ == "__main__":
    main()
