"""The `lms-plugin` command line. Every command reads the same environment as the web app, and
is also available as `flask --app lms_plugin <command>`. One module per command group; the
entry point is `lms_plugin.main`."""

from __future__ import annotations

import click
from flask import Flask

from lms_plugin.commands.credentials import credentials_group
from lms_plugin.commands.frameworks import frameworks_group
from lms_plugin.commands.keys import keys_group
from lms_plugin.commands.platform import platform_group
from lms_plugin.commands.scores import scores_group
from lms_plugin.commands.serve import demo_command, init_command, serve_command, worker_command
from lms_plugin.commands.xapi import xapi_group

COMMANDS = (
    init_command,
    demo_command,
    serve_command,
    frameworks_group,
    platform_group,
    keys_group,
    scores_group,
    credentials_group,
    worker_command,
    xapi_group,
)


def register_commands(app: Flask) -> None:
    for command in COMMANDS:
        app.cli.add_command(command)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Competency judgements, xAPI records and Open Badges 3.0 credentials for Canvas and Moodle.

    Configuration comes from the environment (DATABASE_URL, SECRET_KEY, BASE_URL, ...): see README.
    """


for _command in COMMANDS:
    cli.add_command(_command)
