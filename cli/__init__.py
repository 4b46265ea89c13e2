"""The command line: thin front end over engine jobs (argument parsing, progress bars, output)."""
