"""The README's curl commands ("The two commands", then "Recipes") run as written, in order.

Each command is read from README.md, split as the shell would (shlex) and sent with httpx, so
curl need not be installed. The `# → [status] {…}` line after a command is its answer: the
status (any 2xx when none is shown), then every `"field":value` shown must be somewhere in the
answer, `…` standing for any value but null and `[` or `{` only saying the field is there.
`<name>` in a command stands for the field `name` of the latest answer holding it; `$KEY` is the
demo's API key, read from `KEY=$(cat var/demo-api-key)`.
"""

from __future__ import annotations

import json
import re
import shlex
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from tests.e2e.harness import ServiceThread

README = Path(__file__).resolve().parents[2] / "README.md"
SERVICE, BROKER = "http://127.0.0.1:8000", "http://127.0.0.1:8001"
ARROW = "# →"
KEY_FILE = re.compile(r"([A-Z_]+)=\$\(cat var/demo-api-key\)")
PAIR = re.compile(r'"(\w+)"\s*:\s*("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?|true|false|null|[\[{])')
SEGMENT = re.compile(r"'[^']*'|\"(?:[^\"\\]|\\.)*\"|[^'\"]+")
VARIABLE = re.compile(r"\$\{?([A-Za-z_]\w*)\}?")
PLACEHOLDER = re.compile(r"<(\w+)>")
ANY, PRESENT = object(), object()
# A placement's answer may already show where the broker's update took the order: the update
# can reach the row before the answer is written.
LATER = {"PENDING": {"OPEN", "COMPLETE"}}
PATIENCE_SECONDS = 10.0  # a read is repeated until its answer shows what the README says
FLAGS = {"-s": "silent", "--silent": "silent", "-L": "follow", "--location": "follow"}
VALUED = {"-X": "method", "--request": "method", "-d": "data", "--data": "data"}
HEADER = ("-H", "--header")


@dataclass
class Command:
    text: str
    expected: str | None = None


@dataclass
class Request:
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    data: str | None = None
    follow: bool = False


def _section(name: str) -> str:
    text = README.read_text(encoding="utf-8")
    found = re.search(rf"^## {re.escape(name)}\n(.*?)(?=^## )", text, re.DOTALL | re.MULTILINE)
    assert found, f"the README has no section {name!r}"
    return found.group(1)


def _blocks(section: str) -> list[str]:
    return re.findall(r"^```(?:sh|bash)\n(.*?)^```", section, re.DOTALL | re.MULTILINE)


def _commands(block: str) -> Iterator[Command]:
    """The block's commands, each with its `# →` line (continued on the comment lines after)."""
    last: Command | None = None
    pending, in_arrow = "", False
    for line in block.splitlines():
        if not pending and not line.strip():
            continue
        if not pending and line.lstrip().startswith("#"):
            if last is not None and (line.startswith(ARROW) or in_arrow):
                tail = line.removeprefix(ARROW) if line.startswith(ARROW) else line[1:]
                last.expected = f"{last.expected or ''} {tail.strip()}".strip()
                in_arrow = True
            continue
        in_arrow = False
        pending += line + "\n"
        if _complete(pending):
            last = Command(pending.replace("\\\n", " ").strip())
            pending = ""
            yield last
    assert not pending.strip(), f"an unfinished command: {pending}"


def _complete(text: str) -> bool:
    if text.endswith("\\\n"):
        return False
    try:
        shlex.split(text.replace("\\\n", " "), comments=True)
    except ValueError:  # a quote still open: the command goes on on the next line
        return False
    return True


def _readme_commands() -> list[Command]:
    curl_blocks = [b for b in _blocks(_section("The two commands")) if "curl " in b]
    assert len(curl_blocks) == 1, "'The two commands' should hold one block of curl commands"
    recipes = _blocks(_section("Recipes"))
    assert recipes, "the README's Recipes section has no sh block"
    return [command for block in curl_blocks + recipes for command in _commands(block)]


def _expand(text: str, variables: Mapping[str, str]) -> str:
    """Replace `$NAME` outside single quotes, as the shell would; an unset name fails."""

    def value(found: re.Match[str]) -> str:
        assert found.group(1) in variables, f"${found.group(1)} is never set: {text}"
        return variables[found.group(1)]

    return "".join(
        piece if piece.startswith("'") else VARIABLE.sub(value, piece)
        for piece in SEGMENT.findall(text)
    )


def _request(tokens: list[str]) -> Request:
    assert tokens[0] == "curl", f"only curl commands are expected here: {tokens}"
    options: dict[str, Any] = {"header": []}
    urls: list[str] = []
    words = iter(tokens[1:])
    for word in words:
        if word in FLAGS:
            options[FLAGS[word]] = True
        elif word in HEADER:
            options["header"].append(next(words))
        elif word in VALUED:
            options[VALUED[word]] = next(words)
        else:
            assert not word.startswith("-"), f"curl's {word} is not understood here"
            urls.append(word)
    assert len(urls) == 1, f"one URL a command: {tokens}"
    return _built(urls[0], options)


def _built(url: str, options: dict[str, Any]) -> Request:
    """What curl sends: POST when there is a body, a form's type unless one is named."""
    headers = dict(_header(line) for line in options["header"])
    data = options.get("data")
    if data is not None and "content-type" not in {name.lower() for name in headers}:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    method = options.get("method") or ("POST" if data is not None else "GET")
    return Request(method, url, headers, data, bool(options.get("follow")))


def _header(line: str) -> tuple[str, str]:
    name, colon, value = line.partition(":")
    assert colon, f"a header without a colon: {line!r}"
    return name.strip(), value.strip()


def _placeholders(text: str, answers: list[Any]) -> str:
    def value(found: re.Match[str]) -> str:
        name = found.group(1)
        for answer in reversed(answers):
            if isinstance(answer, dict) and answer.get(name) is not None:
                return str(answer[name])
        raise AssertionError(f"<{name}> is in no answer before: {text}")

    return PLACEHOLDER.sub(value, text)


class Runner:
    """Sends the README's commands to the test's service and broker, as curl would."""

    def __init__(self, hosts: dict[str, str], api_key: str) -> None:
        self.hosts = hosts
        self.api_key = api_key
        self.variables: dict[str, str] = {}
        self.answers: list[Any] = []

    def run(self, client: httpx.Client, command: Command) -> None:
        assignment = KEY_FILE.fullmatch(command.text)
        if assignment:
            self.variables[assignment.group(1)] = self.api_key
            return
        assert "=" not in command.text.split()[0], f"an unknown assignment: {command.text}"
        text = _placeholders(_expand(command.text, self.variables), self.answers)
        request = _request(shlex.split(text, comments=True))
        request.url = self._here(request.url)
        self.answers.append(self._answered(client, request, command.expected))

    def _answered(self, client: httpx.Client, request: Request, expected: str | None) -> Any:
        """Send; repeat a read until its answer is the README's, for up to PATIENCE_SECONDS."""
        patient = request.method == "GET" and expected is not None
        deadline = time.monotonic() + (PATIENCE_SECONDS if patient else 0)
        while True:
            response = self._send(client, request)
            problems = _mismatches(response, expected)
            if not problems or time.monotonic() >= deadline:
                assert not problems, f"{request.method} {request.url}: {problems}\n{response.text}"
                return response.json()
            time.sleep(0.1)

    def _here(self, url: str) -> str:
        for readme, here in self.hosts.items():
            if url == readme or url.startswith(readme + "/"):
                return here + url[len(readme) :]
        raise AssertionError(f"{url} is neither the demo's API nor its paper broker")

    def _send(self, client: httpx.Client, request: Request) -> httpx.Response:
        """One request, following redirects with `-L` (curl keeps Authorization on its host)."""
        response = client.request(
            request.method, request.url, headers=request.headers, content=request.data
        )
        origin, headers = urlsplit(request.url).netloc, dict(request.headers)
        for _ in range(5):
            if not (request.follow and response.is_redirect):
                break
            url = self._mapped(urljoin(str(response.url), response.headers["location"]))
            if urlsplit(url).netloc != origin:
                headers.pop("Authorization", None)
            else:
                headers = dict(request.headers)
            response = client.get(url, headers=headers)
        return response

    def _mapped(self, url: str) -> str:
        """A redirect to the README's hosts goes to the test's (the broker's default callback)."""
        for readme, here in self.hosts.items():
            if url.startswith(readme + "/"):
                return here + url[len(readme) :]
        return url


def _mismatches(response: httpx.Response, expected: str | None) -> list[str]:
    status, wanted = _expectation(expected or "")
    if status is not None and response.status_code != status:
        return [f"status {response.status_code}, the README says {status}"]
    if status is None and not response.is_success:
        return [f"status {response.status_code}"]
    found = list(_pairs(response.json()))
    return [
        f'"{name}": {shown!r} not in the answer'
        for name, want, shown in wanted
        if not any(key == name and _matches(name, want, value) for key, value in found)
    ]


def _expectation(line: str) -> tuple[int | None, list[tuple[str, Any, str]]]:
    status = re.match(r"(\d{3})\b", line)
    return (int(status.group(1)) if status else None), [
        (name, _wanted(raw), raw) for name, raw in PAIR.findall(line)
    ]


def _wanted(raw: str) -> Any:
    if raw in "[{":
        return PRESENT
    return ANY if "…" in raw else json.loads(raw)


def _matches(name: str, want: Any, value: Any) -> bool:
    if want is PRESENT:
        return True
    if want is ANY:
        return value is not None
    if name == "status" and isinstance(want, str) and value in LATER.get(want, ()):
        return True
    return bool(value == want)


def _pairs(answer: Any) -> Iterator[tuple[str, Any]]:
    """Every (field, value) of the answer, at any depth."""
    if isinstance(answer, dict):
        for key, value in answer.items():
            yield key, value
            yield from _pairs(value)
    elif isinstance(answer, list):
        for item in answer:
            yield from _pairs(item)


def test_the_readme_commands_and_recipes_run_in_order(
    service: ServiceThread, paper: str, admin: httpx.Client
) -> None:
    admin.post("/prices", json={"NSE:INFY": "1500.00"}).raise_for_status()
    runner = Runner({SERVICE: service.url, BROKER: paper}, service.api_key)
    with httpx.Client(timeout=15) as client:
        for command in _readme_commands():
            runner.run(client, command)
    assert len(runner.answers) >= 12, "fewer curl commands than the README's recipes hold"


def test_every_order_in_the_readme_carries_an_idempotency_key() -> None:
    text = README.read_text(encoding="utf-8")
    placements = [
        tokens
        for block in _blocks(text)
        for command in _commands(block)
        if (tokens := shlex.split(command.text, comments=True))[0] == "curl"
        and any(re.search(r"/api/v1/(orders|baskets)$", token) for token in tokens)
    ]
    assert len(placements) >= 4
    for tokens in placements:
        request = _request(tokens)
        if request.method == "POST":
            assert "Idempotency-Key" in request.headers, " ".join(tokens)
