"""``python -m cnnb`` runs the command line."""

from cnnb.cli import main

if __name__ == "__main__":
    main()
