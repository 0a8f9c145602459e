#!/usr/bin/env python3
"""Renders a Helm chart's templates like `helm template`, for the subset of Go templates and Sprig that
deploy/helm uses; the tests use it where no helm binary can be installed.

Usage: helm-template.py CHART [--release NAME] [-f VALUES.yaml]... [--set a.b=VALUE]... [--notes]

Supported: text with `{{ }}` / `{{- -}}` trimming and `{{/* comments */}}`; `define`, `include`; `if`, `else`,
`end`; `range LIST` (dot becomes the element); operands `.`, `$`, `.Values.a.b`, `$.Values…`, `.Release.Name`,
`.Release.Namespace`, `.Chart.Name` / `.Version` / `.AppVersion`, "strings", numbers, true / false; pipelines
with `|`; the functions quote, default, required, fail, not, gt, toYaml, nindent. Anything else — another function,
`with`, `else if`, variables, parentheses, a value missing from the merged values — is an error naming the
file and the action, so a chart that strays from the subset fails loudly instead of rendering wrong.

Values are printed as Go prints them: whole numbers below 1e6 as digits, larger ones in Go's %v form (1e+06),
as Helm does for numbers from YAML; nil as an empty string. toYaml sorts keys like Helm's (sigs.k8s.io/yaml).
"""
import argparse
import decimal
import os
import re
import sys

import yaml


class TemplateError(Exception):
    pass


# ---- values ---------------------------------------------------------------------------------------------------

def merge(base, override):
    """Deep merge like Helm's coalescing of values files: maps merge, anything else is replaced."""
    result = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge(result[key], value)
        else:
            result[key] = value
    return result


def parse_set(text):
    """`a.b=VALUE` as `--set` reads it: true/false, integers, null; anything else is a string."""
    if "=" not in text:
        raise TemplateError(f"--set {text}: write key.path=value")
    path, raw = text.split("=", 1)
    if raw in ("true", "false"):
        value = raw == "true"
    elif re.fullmatch(r"-?[0-9]+", raw):
        value = int(raw)
    elif raw == "null":
        value = None
    else:
        value = raw
    tree = value
    for key in reversed(path.split(".")):
        tree = {key: tree}
    return tree


# ---- printing like Go ------------------------------------------------------------------------------------------

def go_number(number):
    """fmt's %v of the float64 that Helm makes of every YAML number."""
    f = float(number)
    if f != f or f in (float("inf"), float("-inf")):
        raise TemplateError(f"cannot print {number}")
    if f == 0:
        return "0"
    d = decimal.Decimal(repr(f)).normalize()
    sign, digits, exponent = d.as_tuple()
    digits = "".join(map(str, digits))
    point = len(digits) + exponent  # digits before the decimal point
    exp = point - 1
    prefix = "-" if sign else ""
    if exp < -4 or exp >= 6:
        # %e with the shortest digits: d.ddde+XX (at least two exponent digits).
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{prefix}{mantissa}e{'+' if exp >= 0 else '-'}{abs(exp):02d}"
    if point <= 0:
        return f"{prefix}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return prefix + digits + "0" * (point - len(digits))
    return f"{prefix}{digits[:point]}.{digits[point:]}"


def go_print(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return go_number(value)
    if isinstance(value, str):
        return value
    raise TemplateError(f"cannot print a {type(value).__name__} directly: use toYaml")


def go_quote(value):
    """Sprig's quote: Go's %q of the printed value."""
    text = go_print(value)
    out = ['"']
    for ch in text:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def to_yaml(value):
    """Helm's toYaml: block style, sorted keys, no trailing newline."""
    if value is None:
        return "null"

    def normalise(v):
        # Helm's values are JSON-shaped: whole floats print as integers.
        if isinstance(v, dict):
            return {str(k): normalise(x) for k, x in v.items()}
        if isinstance(v, list):
            return [normalise(x) for x in v]
        if isinstance(v, float) and v.is_integer():
            return int(v)
        return v
    text = yaml.safe_dump(normalise(value), default_flow_style=False, sort_keys=True, width=1 << 30)
    if text.endswith("\n...\n"):
        text = text[: -len("...\n")]
    return text.rstrip("\n")


def truthy(value):
    """Go templates: false, 0, nil and empty strings, lists and maps are false."""
    if value is None or value is False:
        return False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value != 0
    if isinstance(value, (str, list, dict)):
        return len(value) > 0
    return True


# ---- parsing ---------------------------------------------------------------------------------------------------

ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.S)


class Text:
    def __init__(self, text):
        self.text = text


class Action:
    def __init__(self, pipeline, where):
        self.pipeline, self.where = pipeline, where


class If:
    def __init__(self, pipeline, where):
        self.pipeline, self.where, self.then, self.otherwise = pipeline, where, [], []


class Range:
    def __init__(self, pipeline, where):
        self.pipeline, self.where, self.body = pipeline, where, []


def tokenize(source, name):
    """Splits a template into text and actions, applying `{{-` / `-}}` trimming."""
    pieces = []
    position = 0
    for match in ACTION.finditer(source):
        text = source[position:match.start()]
        if match.group(1):
            text = text.rstrip(" \t\r\n")
        if pieces and pieces[-1][0] == "trim-next":
            pieces.pop()
            text = text.lstrip(" \t\r\n")
        pieces.append(("text", text))
        body = match.group(2).strip()
        line = source.count("\n", 0, match.start()) + 1
        pieces.append(("action", body, f"{name}:{line}"))
        if match.group(3):
            pieces.append(("trim-next",))
        position = match.end()
    text = source[position:]
    if pieces and pieces[-1][0] == "trim-next":
        pieces.pop()
        text = text.lstrip(" \t\r\n")
    pieces.append(("text", text))
    if "{{" in "".join(p[1] for p in pieces if p[0] == "text"):
        raise TemplateError(f"{name}: an unclosed or malformed '{{{{' action")
    return pieces


def parse(source, name, defines):
    """Returns the node list of a template; `define`d templates go into `defines`."""
    root = []
    stack = [("root", root, None)]  # (kind, list being filled, node)
    for piece in tokenize(source, name):
        current = stack[-1][1]
        if piece[0] == "text":
            if piece[1]:
                current.append(Text(piece[1]))
            continue
        body, where = piece[1], piece[2]
        if body.startswith("/*"):
            if not body.endswith("*/"):
                raise TemplateError(f"{where}: unterminated comment")
            continue
        keyword = body.split(None, 1)[0] if body else ""
        rest = body[len(keyword):].strip()
        if keyword == "define":
            match = re.fullmatch(r'"([^"]+)"', rest)
            if not match:
                raise TemplateError(f"{where}: define takes one quoted name")
            node = []
            defines[match.group(1)] = node
            stack.append(("define", node, None))
        elif keyword == "if":
            node = If(rest, where)
            current.append(node)
            stack.append(("if", node.then, node))
        elif keyword == "range":
            if ":=" in rest or rest.startswith("$"):
                raise TemplateError(f"{where}: range with variables is not supported: {{{{ {body} }}}}")
            node = Range(rest, where)
            current.append(node)
            stack.append(("range", node.body, node))
        elif keyword == "else":
            kind, _, node = stack[-1]
            if rest:
                raise TemplateError(f"{where}: 'else {rest}' is not supported (only a plain else)")
            if kind != "if":
                raise TemplateError(f"{where}: else outside an if")
            stack[-1] = ("if-else", node.otherwise, node)
        elif keyword == "end":
            if rest or len(stack) == 1:
                raise TemplateError(f"{where}: unexpected {{{{ {body} }}}}")
            stack.pop()
        elif keyword in ("with", "template", "block", "break", "continue", "tpl"):
            raise TemplateError(f"{where}: '{keyword}' is not supported by this renderer")
        else:
            current.append(Action(body, where))
    if len(stack) != 1:
        raise TemplateError(f"{name}: {{{{ {stack[-1][0]} }}}} without end")
    return root


# ---- evaluation ------------------------------------------------------------------------------------------------

TOKEN = re.compile(r'\s*("(?:[^"\\]|\\.)*"|[^\s"|]+|\|)')


def split_pipeline(text, where):
    tokens = []
    position = 0
    while position < len(text):
        match = TOKEN.match(text, position)
        if not match:
            if text[position:].strip():
                raise TemplateError(f"{where}: cannot read '{text[position:]}'")
            break
        tokens.append(match.group(1))
        position = match.end()
    commands = [[]]
    for token in tokens:
        if token == "|":
            commands.append([])
        else:
            commands[-1].append(token)
    if any(not command for command in commands):
        raise TemplateError(f"{where}: empty command in '{text}'")
    return commands


FUNCTIONS = {"quote", "default", "required", "fail", "not", "gt", "toYaml", "nindent", "include"}


class Renderer:
    def __init__(self, root, defines):
        self.root = root
        self.defines = defines
        self.depth = 0

    def operand(self, token, dot, where):
        if token.startswith('"'):
            return bytes(token[1:-1], "utf-8").decode("unicode_escape")
        if re.fullmatch(r"-?[0-9]+", token):
            return int(token)
        if token in ("true", "false"):
            return token == "true"
        if token in ("(", ")") or "(" in token or ")" in token:
            raise TemplateError(f"{where}: parentheses are not supported: {token}")
        if token == ".":
            return dot
        if token == "$":
            return self.root
        if token.startswith("$."):
            base, path = self.root, token[2:]
        elif token.startswith("."):
            base, path = dot, token[1:]
        else:
            raise TemplateError(f"{where}: unknown function or operand '{token}'")
        value = base
        walked = ""
        for key in path.split("."):
            walked += "." + key
            if not isinstance(value, dict):
                raise TemplateError(f"{where}: {walked} reads a field of a {type(value).__name__}")
            if key not in value:
                raise TemplateError(f"{where}: {walked} is not set (add it to values.yaml)")
            value = value[key]
        return value

    def call(self, name, args, where):
        def arity(n):
            if len(args) != n:
                raise TemplateError(f"{where}: {name} takes {n} argument(s), got {len(args)}")
        if name == "quote":
            arity(1)
            return go_quote(args[0])
        if name == "default":
            arity(2)
            return args[1] if truthy(args[1]) else args[0]
        if name == "required":
            arity(2)
            if args[1] is None or args[1] == "":
                raise TemplateError(f"{where}: {args[0]}")
            return args[1]
        if name == "not":
            arity(1)
            return not truthy(args[0])
        if name == "fail":
            arity(1)
            raise TemplateError(f"{where}: {args[0]}")
        if name == "gt":
            arity(2)
            if not all(isinstance(a, (int, float)) and not isinstance(a, bool) for a in args):
                raise TemplateError(f"{where}: gt compares two numbers")
            return args[0] > args[1]
        if name == "toYaml":
            arity(1)
            return to_yaml(args[0])
        if name == "nindent":
            arity(2)
            if not isinstance(args[0], int):
                raise TemplateError(f"{where}: nindent takes a number first")
            pad = " " * args[0]
            return "\n" + "\n".join(pad + line if line else line for line in go_print(args[1]).split("\n"))
        if name == "include":
            arity(2)
            if args[0] not in self.defines:
                raise TemplateError(f"{where}: no template named {args[0]!r}")
            self.depth += 1
            if self.depth > 50:
                raise TemplateError(f"{where}: include nested too deep")
            try:
                return self.render(self.defines[args[0]], args[1])
            finally:
                self.depth -= 1
        raise TemplateError(f"{where}: unknown function '{name}'")

    def pipeline(self, text, dot, where):
        result = None
        for index, command in enumerate(split_pipeline(text, where)):
            head, tail = command[0], command[1:]
            if head in FUNCTIONS:
                args = [self.operand(token, dot, where) for token in tail]
                if index > 0:
                    args.append(result)
                result = self.call(head, args, where)
            elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", head) and head not in ("true", "false"):
                raise TemplateError(f"{where}: unknown function '{head}'")
            else:
                if tail or index > 0:
                    raise TemplateError(f"{where}: '{' '.join(command)}' is not a function call")
                result = self.operand(head, dot, where)
        return result

    def render(self, nodes, dot):
        out = []
        for node in nodes:
            if isinstance(node, Text):
                out.append(node.text)
            elif isinstance(node, Action):
                out.append(go_print(self.pipeline(node.pipeline, dot, node.where)))
            elif isinstance(node, If):
                branch = node.then if truthy(self.pipeline(node.pipeline, dot, node.where)) else node.otherwise
                out.append(self.render(branch, dot))
            elif isinstance(node, Range):
                items = self.pipeline(node.pipeline, dot, node.where)
                if items is None:
                    continue
                if not isinstance(items, list):
                    raise TemplateError(f"{node.where}: range over a {type(items).__name__}: only lists are supported")
                for item in items:
                    out.append(self.render(node.body, item))
        return "".join(out)


def render_chart(chart, release, value_files, sets):
    with open(os.path.join(chart, "Chart.yaml")) as f:
        meta = yaml.safe_load(f)
    with open(os.path.join(chart, "values.yaml")) as f:
        values = yaml.safe_load(f) or {}
    for path in value_files:
        with open(path) as f:
            values = merge(values, yaml.safe_load(f) or {})
    for text in sets:
        values = merge(values, parse_set(text))
    root = {
        "Values": values,
        "Release": {"Name": release, "Namespace": "default"},
        "Chart": {"Name": meta["name"], "Version": meta["version"], "AppVersion": meta.get("appVersion", "")},
    }
    folder = os.path.join(chart, "templates")
    defines = {}
    parsed = {}
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name)) as f:
            nodes = parse(f.read(), f"templates/{name}", defines)
        if not name.startswith("_"):
            parsed[name] = nodes
    renderer = Renderer(root, defines)
    manifests = []
    notes = None
    for name, nodes in parsed.items():
        text = renderer.render(nodes, root)
        if name == "NOTES.txt":
            notes = text
        elif text.strip():
            manifests.append(f"---\n# Source: {meta['name']}/templates/{name}\n{text.strip(chr(10))}\n")
    return "".join(manifests), notes


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chart")
    parser.add_argument("--release", default="release")
    parser.add_argument("-f", "--values", action="append", default=[])
    parser.add_argument("--set", action="append", default=[])
    parser.add_argument("--notes", action="store_true", help="print the rendered NOTES.txt instead")
    args = parser.parse_args()
    try:
        manifests, notes = render_chart(args.chart, args.release, args.values, args.set)
    except TemplateError as error:
        sys.exit(f"helm-template: {error}")
    sys.stdout.write((notes or "") if args.notes else manifests)


if __name__ == "__main__":
    main()
