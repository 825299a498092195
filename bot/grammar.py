"""The command grammar: one parser for every front end (Slack, console, ``ask``).

``parse(text)`` returns a typed request or raises ``BadCommand`` with a short message that
says what is wrong.  Plain-English forms are accepted where natural ("who is X?", "what
happened with X", "stop watching 3", "what are we watching here?").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from bot.errors import BadCommand

MAX_INPUT = 4000


@dataclass(frozen=True)
class Who:
    name: str


@dataclass(frozen=True)
class Events:
    topic: str | None = None
    since: str | None = None
    until: str | None = None


@dataclass(frozen=True)
class Search:
    query: str
    page: int = 1


@dataclass(frozen=True)
class Article:
    id: int


@dataclass(frozen=True)
class Watch:
    query: str
    channel: str | None = None  # "in #channel"; None means the current channel


@dataclass(frozen=True)
class Watches:
    pass


@dataclass(frozen=True)
class Unwatch:
    id: int


@dataclass(frozen=True)
class Mute:
    id: int
    duration: str | None = None  # "2h", "30m", "1d"
    until: str | None = None


@dataclass(frozen=True)
class Unmute:
    id: int


@dataclass(frozen=True)
class Digest:
    id: int
    time: str | None  # "HH:MM", None = off


@dataclass(frozen=True)
class Feeds:
    pass


@dataclass(frozen=True)
class FeedAdd:
    url: str


@dataclass(frozen=True)
class FeedRemove:
    id: int


@dataclass(frozen=True)
class FeedImport:
    source: str


@dataclass(frozen=True)
class Poll:
    pass


@dataclass(frozen=True)
class Status:
    pass


@dataclass(frozen=True)
class Help:
    topic: str | None = None


Request = (
    Who | Events | Search | Article | Watch | Watches | Unwatch | Mute | Unmute | Digest
    | Feeds | FeedAdd | FeedRemove | FeedImport | Poll | Status | Help
)


@dataclass(frozen=True)
class CommandHelp:
    name: str
    usage: str
    summary: str
    examples: tuple[str, ...] = ()


COMMANDS: tuple[CommandHelp, ...] = (
    CommandHelp(
        "who", "who NAME",
        "actor profile: names, roles, mentions, quotes, events, related actors, articles",
        ("who Maduro", "who is Jorge Rodríguez?"),
    ),
    CommandHelp(
        "events", "events [TOPIC or ACTOR] [since DATE] [until DATE]",
        "timeline of events, oldest first, each with its sources",
        ("events deportation since 2025-01-01", "what happened with deportation flights"),
    ),
    CommandHelp(
        "search", "search QUERY", "full-text search, ranked, with snippets",
        ("search deportation flights", 'search "Tren de Aragua"'),
    ),
    CommandHelp("article", "article ID", "one article: metadata, actors, events, quotes",
                ("article 5",)),
    CommandHelp(
        "watch", "watch QUERY [in #channel]",
        "alert this channel when a new article matches; says how the query was understood",
        ("watch deportation flights to Venezuela", 'watch actor:"Maduro" OR "Tren de Aragua"'),
    ),
    CommandHelp("watches", "watches", "list this channel's watches", ("what are we watching?",)),
    CommandHelp("unwatch", "unwatch ID", "remove a watch", ("unwatch 3", "stop watching 3")),
    CommandHelp("mute", "mute ID [for 2h | until DATE]", "pause a watch's alerts",
                ("mute 3 for 2h",)),
    CommandHelp("unmute", "unmute ID", "resume a muted watch", ("unmute 3",)),
    CommandHelp(
        "digest", "digest ID daily HH:MM | digest ID off",
        "collect a watch's alerts into one daily summary (UTC), or switch back",
        ("digest 3 daily 08:30", "digest 3 off"),
    ),
    CommandHelp("feeds", "feeds", "list feeds with their health and article counts"),
    CommandHelp(
        "feed", "feed add URL | feed remove ID | feed import OPML_URL_OR_PATH",
        "manage the feeds wirewatch polls",
        ("feed add https://example.org/rss.xml", "feed remove 2"),
    ),
    CommandHelp(
        "poll", "poll", "check the feeds now, except those pausing; once a minute per channel"
    ),
    CommandHelp("status", "status", "feeds and their health, last poll, counts"),
    CommandHelp("help", "help [COMMAND]", "usage", ("help watch",)),
)
COMMAND_NAMES = tuple(c.name for c in COMMANDS)

_MENTION = re.compile(r"^\s*(?:<@[A-Z0-9]+(?:\|[^>]*)?>\s*[:,]?\s*)+")
_ID = re.compile(r"^#?(\d{1,12})$")
_CHANNEL = re.compile(r"^(?:<#([A-Z0-9]+)(?:\|[^>]*)?>|#([\w\-]{1,80}))$")
_DURATION = re.compile(r"^(\d{1,4})\s*(m|min|mins|minutes?|h|hr|hrs|hours?|d|days?|w|weeks?)$")
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def clean_input(text: str) -> str:
    """Normalise raw user text: NFC, no control or bidi-override characters, one line."""
    text = unicodedata.normalize("NFC", text)
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if ch in "\n\r\t":
            out.append(" ")
        elif cat in ("Cc", "Cf", "Cs", "Co", "Cn"):
            continue
        else:
            out.append(ch)
    return " ".join("".join(out).split())


def _id(word: str, what: str = "ID") -> int:
    m = _ID.match(word)
    if not m:
        raise BadCommand(f"{what} must be a number, like `3` — got `{word[:40]}`.")
    value = int(m.group(1))
    if value <= 0 or value > 2**53:
        raise BadCommand(f"{what} {word[:40]} is out of range.")
    return value


def _one_id(rest: str, what: str, usage: str) -> int:
    """The single ID of a command that changes something: extra words are refused, so
    `unwatch 1 OR 1=1` or `unwatch 1 2` never acts on a guess (hardening)."""
    words = rest.split()
    if len(words) > 1:
        raise BadCommand(f"Say `{usage}` with one ID; I did not understand "
                         f"`{' '.join(words[1:])[:40]}`.")
    return _id(words[0], what)


def _strip_q(text: str) -> str:
    return text.strip().rstrip("?!.").strip()


def _events(rest: str) -> Events:
    since = until = None
    words = rest.split()
    topic_words: list[str] = []
    i = 0
    while i < len(words):
        w = words[i].lower()
        if w in ("since", "from", "after", "until", "till", "before", "to") and i + 1 < len(words):
            # a date runs to the next keyword
            j = i + 1
            while j < len(words) and words[j].lower() not in ("since", "after", "until", "before"):
                j += 1
            value = " ".join(words[i + 1 : j])
            if w in ("to",) and not re.match(r"^\d{4}", value):
                topic_words.append(words[i])
                i += 1
                continue
            if w in ("since", "from", "after"):
                since = value
            else:
                until = value
            i = j
            continue
        topic_words.append(words[i])
        i += 1
    topic = " ".join(topic_words).strip() or None
    if topic and topic.lower() in ("all", "everything", "anything"):
        topic = None
    return Events(topic=topic, since=since, until=until)


def _feed(rest: str) -> Request:
    words = rest.split(maxsplit=1)
    if not words:
        raise BadCommand("Say `feed add URL`, `feed remove ID` or `feed import OPML_URL_OR_PATH`.")
    sub, arg = words[0].lower(), (words[1].strip() if len(words) > 1 else "")
    arg = arg.strip("<>").split("|", 1)[0] if arg.startswith("<") else arg
    if sub == "add":
        if not arg:
            raise BadCommand("Which feed? Say `feed add URL`.")
        return FeedAdd(url=arg.split()[0])
    if sub in ("remove", "rm", "delete", "del"):
        if not arg:
            raise BadCommand("Which feed? Say `feed remove ID` (see `feeds`).")
        return FeedRemove(id=_one_id(arg, "Feed ID", "feed remove ID"))
    if sub == "import":
        if not arg:
            raise BadCommand("Say `feed import OPML_URL_OR_PATH`.")
        return FeedImport(source=arg)
    if sub in ("list", "ls"):
        return Feeds()
    raise BadCommand(
        f"`feed {sub[:30]}` is not a feed command: use `feed add`, `feed remove` or `feed import`."
    )


def _watch(rest: str) -> Watch:
    rest = rest.strip()
    channel = None
    m = re.search(r"\s+in\s+(<#[A-Z0-9]+(?:\|[^>]*)?>|#[\w\-]{1,80})\s*$", rest)
    if m:
        cm = _CHANNEL.match(m.group(1))
        if cm:
            channel = cm.group(1) or cm.group(2)
            rest = rest[: m.start()].strip()
    rest = re.sub(r"^(?:for|out for)\s+", "", rest, flags=re.I)
    if not rest:
        raise BadCommand("Watch what? Say `watch QUERY`, e.g. `watch deportation flights`.")
    return Watch(query=rest, channel=channel)


def _mute(rest: str) -> Mute:
    words = rest.split()
    if not words:
        raise BadCommand("Which watch? Say `mute ID [for 2h]` (see `watches`).")
    wid = _id(words[0], "Watch ID")
    tail = words[1:]
    if not tail:
        return Mute(id=wid)
    if tail[0].lower() == "for" and len(tail) >= 2:
        spec = "".join(tail[1:]).lower()
        if re.fullmatch(r"0*[1-9]\d{4,}\s*(?:m|min|mins|minutes?|h|hr|hrs|hours?|d|days?|w"
                        r"|weeks?)", spec):
            raise BadCommand(f"`{spec[:40]}` is too long: mute for at most a year, or say "
                             "`mute ID` to mute until `unmute`.")
        if not _DURATION.match(spec):
            raise BadCommand(f"`{' '.join(tail[1:])[:40]}` is not a duration: try `for 2h`, "
                             "`for 30m` or `for 3d`.")
        return Mute(id=wid, duration=spec)
    if tail[0].lower() == "until" and len(tail) >= 2:
        return Mute(id=wid, until=" ".join(tail[1:]))
    raise BadCommand("Say `mute ID`, `mute ID for 2h` or `mute ID until DATE`.")


def _digest(rest: str) -> Digest:
    words = rest.split()
    if not words:
        raise BadCommand("Say `digest ID daily HH:MM` or `digest ID off`.")
    wid = _id(words[0], "Watch ID")
    tail = [w.lower() for w in words[1:]]
    if tail == ["off"]:
        return Digest(id=wid, time=None)
    if len(tail) == 2 and tail[0] == "daily":
        m = _HHMM.match(tail[1])
        if not m:
            raise BadCommand(f"`{tail[1][:20]}` is not a time: use 24-hour HH:MM, like `08:30`.")
        return Digest(id=wid, time=f"{int(m.group(1)):02d}:{m.group(2)}")
    raise BadCommand("Say `digest ID daily HH:MM` or `digest ID off`.")


_PLAIN: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p, re.IGNORECASE), c)
    for p, c in (
        (r"^what\s+(?:are|is)\s+(?:we|you|this channel)\s+watching.*$", "watches"),
        (r"^(?:who|what)\s+(?:is|are|was|were)\s+(?:the\s+)?(.+)$", "who"),
        (r"^who'?s\s+(.+)$", "who"),
        (r"^tell me about\s+(.+)$", "who"),
        (r"^what(?:'s| has)?\s+happen(?:ed|ing)(?:\s+(?:with|to|about|on|in))?\s*(.*)$", "events"),
        (r"^(?:show\s+)?(?:the\s+)?timeline(?:\s+(?:of|for))?\s*(.*)$", "events"),
        (r"^(?:search|find|look up|look for)\s+(?:for\s+)?(.+)$", "search"),
        (r"^(?:show|open|read)\s+article\s+(.+)$", "article"),
        (r"^(?:list|show)\s+(?:the\s+|our\s+|my\s+)?watch(?:es|list)?.*$", "watches"),
        (r"^(?:stop|quit)\s+watching\s+(.+)$", "unwatch"),
        (r"^(?:keep an eye on|alert (?:me|us) (?:about|on|when))\s+(.+)$", "watch"),
        (r"^(?:list|show)\s+(?:the\s+)?feeds?$", "feeds"),
        (r"^add\s+feed\s+(.+)$", "feed add"),
        (r"^(?:remove|delete)\s+feed\s+(.+)$", "feed remove"),
    )
)


def parse(text: str) -> Request:
    """Parse one command.  Raises ``BadCommand`` when it is not one."""
    if len(text) > MAX_INPUT * 4:
        raise BadCommand(f"That is too long for a command ({len(text):,} characters; "
                         f"the limit is {MAX_INPUT:,}).")
    text = clean_input(_MENTION.sub("", text))
    if len(text) > MAX_INPUT:
        raise BadCommand(f"That is too long for a command ({len(text):,} characters; "
                         f"the limit is {MAX_INPUT:,}).")
    if not text:
        return Help()
    if text.startswith("/news"):
        text = text[5:].strip() or "help"
    for pattern, command in _PLAIN:
        if m := pattern.match(text):
            arg = _strip_q(m.group(1)) if m.groups() else ""
            if command == "who" and arg.lower() in ("you", "wirewatch", "this"):
                return Help()
            text = f"{command} {arg}".strip()
            break
    head, _, rest = text.partition(" ")
    cmd = head.lower()
    rest = rest.strip()
    if cmd in ("help", "?", "usage", "commands"):
        topic = rest.lower().split()[0] if rest else None
        if topic and topic not in COMMAND_NAMES:
            raise BadCommand(f"There is no command `{topic[:30]}`. Commands: "
                             + ", ".join(COMMAND_NAMES) + ".")
        return Help(topic=topic)
    if cmd == "who":
        name = _strip_q(re.sub(r"^(?:is|are|was)\s+", "", rest, flags=re.I))
        if not name:
            raise BadCommand("Who? Say `who NAME`, e.g. `who Maduro`.")
        return Who(name=name[:200])
    if cmd in ("events", "event", "timeline"):
        return _events(_strip_q(rest))
    if cmd in ("search", "find"):
        query, page = rest.strip(), 1
        if m := re.search(r"\s+page\s+(\d{1,4})$", query, flags=re.I):
            query, page = query[: m.start()].strip(), max(1, int(m.group(1)))
        if not query:
            raise BadCommand("Search for what? Say `search QUERY`.")
        return Search(query=query[:500], page=page)
    if cmd in ("article", "art"):
        if not rest:
            raise BadCommand("Which article? Say `article ID` (IDs are shown by `search`).")
        return Article(id=_id(rest.split()[0], "Article ID"))
    if cmd == "watch":
        return _watch(rest)
    if cmd == "watches":
        return Watches()
    if cmd in ("unwatch", "unfollow"):
        if not rest:
            raise BadCommand("Which watch? Say `unwatch ID` (see `watches`).")
        return Unwatch(id=_one_id(rest, "Watch ID", "unwatch ID"))
    if cmd == "mute":
        return _mute(rest)
    if cmd == "unmute":
        if not rest:
            raise BadCommand("Which watch? Say `unmute ID`.")
        return Unmute(id=_one_id(rest, "Watch ID", "unmute ID"))
    if cmd == "digest":
        return _digest(rest)
    if cmd == "feeds":
        return Feeds()
    if cmd == "feed":
        return _feed(rest)
    if cmd == "poll":
        return Poll()
    if cmd == "status":
        return Status()
    raise BadCommand(
        f"I don't know `{head[:30]}`. Try `help`, or one of: " + ", ".join(COMMAND_NAMES) + "."
    )
