"""The `reputable` command: Django's manage.py under the project's name.

`reputable serve`, `reputable dispatch`, `reputable createshop`, `reputable demo` and every
Django command (`reputable migrate`, `reputable createsuperuser`, ...) go through here.
"""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reputable.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["reputable", *sys.argv[1:]])


if __name__ == "__main__":
    main()
