"""Domain errors and exit codes. The CLI turns an error into one line on stderr and its exit code."""

from __future__ import annotations

from enum import IntEnum
from pathlib import Path


class ExitCode(IntEnum):
    OK = 0
    FAILURE = 1
    USAGE = 2
    PARTIAL = 3  # a batch ran to the end with some lines ungraded (their errors are in the output)
    INTERRUPTED = 130


class InterviewerError(Exception):
    """An expected failure: its message says what went wrong and what to do."""

    exit_code = ExitCode.FAILURE


class InputError(InterviewerError):
    """Bad user input: a file, an id, a flag value."""

    exit_code = ExitCode.USAGE


class FileInputError(InputError):
    """A problem at a place in a file: `path:line: message`."""

    def __init__(self, path: str | Path, line: int | None, message: str):
        self.path = str(path)
        self.line = line
        self.message = message
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {message}")


class BankError(FileInputError):
    pass


class RubricError(FileInputError):
    pass


class AnswersError(FileInputError):
    pass


class ConfigError(FileInputError):
    pass


class NotFoundError(InputError):
    pass


class StoreError(InterviewerError):
    """The data home or its database cannot be used: the message names the path and what to do."""
