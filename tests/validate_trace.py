#!/usr/bin/python3
"""Validate gradviz JSON traces against the trace JSON Schema.

Usage:
    /usr/bin/python3 tests/validate_trace.py SCHEMA FILE...

Every FILE is parsed strictly (no NaN/Infinity literals, no duplicate keys,
which Python's json module would otherwise accept silently) and validated
against SCHEMA.  Each problem is printed to stderr as

    FILE: $.nodes[3].op: 'sin' is not allowed here (rule: Leaf nodes ...)

naming the file and the JSON path of the offending value.  Valid files are
reported on stdout as "ok FILE".

Exit status: 0 when every FILE is valid, 1 when any FILE is invalid or
unreadable, 2 on a usage error or a bad schema.

Only the standard library and jsonschema (Debian's python3-jsonschema) are used.
"""

import json
import sys

import jsonschema
from jsonschema.validators import validator_for

MAX_ERRORS_PER_FILE = 20


class StrictJSONError(ValueError):
    """A JSON text that parses in Python but is not strict JSON."""


def _reject_constant(name):
    # Called by json for NaN, Infinity and -Infinity, which are not JSON.
    raise StrictJSONError(f"non-standard JSON literal {name} "
                          "(non-finite numbers must be written as null "
                          "plus a nonfinite marker)")


def _no_duplicates(pairs):
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise StrictJSONError(f"duplicate key {key!r} in an object")
        obj[key] = value
    return obj


def load_strict(path):
    """Parse the file at PATH as strict UTF-8 JSON; raise OSError/ValueError."""
    with open(path, "rb") as f:
        data = f.read()
    text = data.decode("utf-8")  # UnicodeDecodeError is a ValueError
    return json.loads(text, parse_constant=_reject_constant,
                      object_pairs_hook=_no_duplicates)


def json_path(parts):
    """Render a jsonschema path deque as $.a.b[3].c."""
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and part.isidentifier():
            out += f".{part}"
        else:
            out += "[" + json.dumps(part) + "]"
    return out


def rule_hint(validator, schema_path):
    """Description of the deepest if/then/else or dependentSchemas branch on
    SCHEMA_PATH, so that errors raised inside a conditional say which rule
    was broken.  Follows "$ref" steps.  Returns None when there is none."""
    hint = None
    node = validator.schema
    parts = list(schema_path)
    for i, part in enumerate(parts):
        try:
            # jsonschema may leave "$ref" steps out of the path: follow a
            # reference whenever the next step is not in the schema itself.
            while (isinstance(node, dict) and "$ref" in node
                   and part not in node):
                node = validator.resolver.resolve(node["$ref"])[1]
            if part != "$ref":
                node = node[part]
        except (KeyError, IndexError, TypeError,
                jsonschema.exceptions.RefResolutionError):
            break
        prev = parts[i - 1] if i > 0 else None
        if isinstance(node, dict) and "description" in node and (
                part in ("then", "else") or prev == "dependentSchemas"):
            hint = node["description"]
    return hint


def describe(error, validator):
    """One-line message for a jsonschema ValidationError."""
    if error.validator is None and error.message.startswith("False schema"):
        # A property forbidden by a "false" subschema (e.g. op on a leaf).
        name = error.path[-1] if error.path else "value"
        message = f"property {name!r} is not allowed here"
    elif error.validator == "additionalProperties":
        message = error.message.replace("Additional properties are not allowed",
                                        "unknown properties are not allowed")
    else:
        message = error.message
    if error.context:
        # anyOf/oneOf: say what each alternative wanted.
        alternatives = sorted({c.message for c in error.context})
        message += ": " + "; or ".join(alternatives)
    if len(message) > 300:
        message = message[:297] + "..."
    hint = rule_hint(validator, error.schema_path)
    if hint:
        message += f" (rule: {hint})"
    return message


def validate_file(path, validator):
    """Print problems with PATH; return True when it is valid."""
    try:
        doc = load_strict(path)
    except OSError as e:
        print(f"{path}: cannot read: {e.strerror or e}", file=sys.stderr)
        return False
    except json.JSONDecodeError as e:
        print(f"{path}: invalid JSON at line {e.lineno} column {e.colno}: "
              f"{e.msg}", file=sys.stderr)
        return False
    except (StrictJSONError, UnicodeDecodeError, ValueError) as e:
        print(f"{path}: invalid JSON: {e}", file=sys.stderr)
        return False

    errors = sorted(validator.iter_errors(doc),
                    key=lambda e: (list(map(str, e.path)),
                                   list(map(str, e.schema_path))))
    if not errors:
        print(f"ok {path}")
        return True
    for error in errors[:MAX_ERRORS_PER_FILE]:
        print(f"{path}: {json_path(error.absolute_path)}: "
              f"{describe(error, validator)}", file=sys.stderr)
    if len(errors) > MAX_ERRORS_PER_FILE:
        print(f"{path}: ... and {len(errors) - MAX_ERRORS_PER_FILE} more "
              "errors", file=sys.stderr)
    print(f"{path}: INVALID ({len(errors)} error"
          f"{'' if len(errors) == 1 else 's'})", file=sys.stderr)
    return False


def main(argv):
    if len(argv) < 3 or argv[1] in ("-h", "--help"):
        print(f"usage: {argv[0]} SCHEMA FILE...", file=sys.stderr)
        return 2
    schema_path, files = argv[1], argv[2:]
    try:
        schema = load_strict(schema_path)
        cls = validator_for(schema)
        cls.check_schema(schema)
    except OSError as e:
        print(f"{schema_path}: cannot read schema: {e.strerror or e}",
              file=sys.stderr)
        return 2
    except jsonschema.exceptions.SchemaError as e:
        print(f"{schema_path}: bad schema: {json_path(e.absolute_path)}: "
              f"{e.message}", file=sys.stderr)
        return 2
    except ValueError as e:
        print(f"{schema_path}: bad schema: not strict JSON: {e}",
              file=sys.stderr)
        return 2
    validator = cls(schema)

    ok = True
    for path in files:
        ok = validate_file(path, validator) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
