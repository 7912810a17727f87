"""The sign-up page's live topic preview (`/api/topic-preview`, and the page's own form post): which of
the pool's papers the typed topics would match, and what it says of each topic."""

from __future__ import annotations

from datetime import timedelta

from newsletter.scrape import parse_api
from tests.conftest import HF_API
from tests.web_support import NOW

MARCH = HF_API / "daily_papers_2025-03-11.json"


def test_topic_preview_before_any_fetch_says_its_pool_is_empty_and_fills_in_after_one(world, run_cli):
    params = {"topics": "LLM reasoning"}
    empty = world.client.get("/api/topic-preview", params=params).json()
    assert empty == {
        "matches": [],
        "cadence": "daily",
        "pool": 0,
        "unmatched": ["LLM reasoning"],
        "unlisted": [],
    }
    # Within the minute the preview is cached for: a successful fetch is seen at once.
    assert run_cli("fetch", "--file", str(MARCH), "--date", NOW.date().isoformat()).exit_code == 0
    filled = world.client.get("/api/topic-preview", params=params).json()
    assert filled["pool"] == len(parse_api(MARCH.read_text()).listings) and filled["matches"]


def test_topic_preview_shows_the_window_of_the_chosen_cadence(world):
    def listed(path, day):
        papers = [item.paper for item in parse_api(path.read_text(encoding="utf-8")).listings]
        with world.store.write() as conn:
            world.store.papers.upsert(conn, [(p, day) for p in papers], "hf-api", NOW)
        return {p.title for p in papers}

    today = listed(MARCH, NOW.date())
    # Listed 6 days ago: in the pool for weekly readers, outside the daily window.
    older = listed(HF_API / "daily_papers_2025-05-30.json", NOW.date() - timedelta(days=6))
    assert any("reason" in title.lower() for title in older)
    matches = world.client.get("/api/topic-preview", params={"topics": "reasoning"}).json()["matches"]
    assert matches and {m["title"] for m in matches} <= today
    # A weekly reader's email chooses from the older days too, so their preview does.
    preview = "/api/topic-preview"
    weekly = world.client.get(preview, params={"topics": "reasoning", "cadence": "weekly"}).json()
    assert weekly["cadence"] == "weekly"
    assert {m["title"] for m in weekly["matches"]} & older
    assert weekly["pool"] > len(matches)
    refused = world.client.get(preview, params={"topics": "reasoning", "cadence": "hourly"})
    assert refused.status_code == 200
    assert refused.json() == {"matches": [], "error": "How often: must be one of daily, weekly"}


def test_topic_preview_takes_turns_over_the_topics_and_names_those_without_a_match(world):
    papers = [item.paper for item in parse_api(MARCH.read_text(encoding="utf-8")).listings]
    with world.store.write() as conn:
        world.store.papers.upsert(conn, [(p, NOW.date()) for p in papers], "hf-api", NOW)
    arabic = "\u0627\u0644\u062a\u0639\u0644\u0645 \u0627\u0644\u0622\u0644\u064a"  # "machine learning"
    topics = f"LLM reasoning\nvideo diffusion\n{arabic}\n-survey"
    answer = world.client.get("/api/topic-preview", params={"topics": topics}).json()
    matches = answer["matches"]
    # "LLM reasoning" alone has more than enough matches to fill the list; the other topic gets its turns.
    assert [m["topic"] for m in matches] == ["LLM reasoning", "video diffusion"] * 2 + ["LLM reasoning"]
    assert all(f"your topic \u201c{m['topic']}\u201d" in m["reason"] for m in matches)
    assert len({m["url"] for m in matches}) == len(matches)
    assert all("survey" not in m["title"].casefold() for m in matches)
    assert answer["unmatched"] == [arabic] and answer["pool"] == len(papers)
    # Only fields added: what the page and other callers read is still there.
    assert {"matches", "cadence", "pool"} <= set(answer)
    assert all({"title", "url", "reason"} <= set(m) for m in matches)
    # The page's own request, a form post with its token, gets the same answer.
    posted = {"topics": topics, "cadence": "daily", "csrftoken": world.csrf("/")}
    assert world.client.post("/topic-preview", data=posted).json() == answer

    # One topic: its five best, as before. Many: one paper for each topic first, and no more than eight.
    alone = world.client.get("/api/topic-preview", params={"topics": "LLM reasoning"}).json()
    assert len(alone["matches"]) == 5 and alone["unmatched"] == []
    assert {m["topic"] for m in alone["matches"]} == {"LLM reasoning"}
    many = ["video", "robot", "speech", "agents", "diffusion", "3D", "reinforcement learning", "code", "math"]
    wide = world.client.get("/api/topic-preview", params={"topics": "\n".join(many)}).json()
    assert len(wide["matches"]) == 8 and wide["unmatched"] == ["speech"]
    assert len({m["topic"] for m in wide["matches"]}) == 8


def test_topic_preview_accounts_for_every_topic_that_matches(world):
    papers = [item.paper for item in parse_api(MARCH.read_text(encoding="utf-8")).listings]
    with world.store.write() as conn:
        world.store.papers.upsert(conn, [(p, NOW.date()) for p in papers], "hf-api", NOW)
    # Both topics match one paper only, the same one: it is listed once, under the first, and names
    # the second, which would otherwise appear neither among the matches nor among the topics to reword.
    pair = world.client.get("/api/topic-preview", params={"topics": "federated learning\nprivacy"}).json()
    assert [(m["topic"], m["also"]) for m in pair["matches"]] == [("federated learning", ["privacy"])]
    assert "Federated Learning" in pair["matches"][0]["title"]
    assert pair["unmatched"] == [] and pair["unlisted"] == []

    # Eleven topics, ten with matches, and room for eight papers: the two topics left without a paper of
    # their own are named apart, unless a listed paper already names them.
    many = ["video", "robot", "speech", "agents", "diffusion", "3D", "reinforcement learning", "code"]
    many += ["math", "time series", "federated learning"]
    wide = world.client.get("/api/topic-preview", params={"topics": "\n".join(many)}).json()
    assert len(wide["matches"]) == 8 and wide["unmatched"] == ["speech"]
    listed = {m["topic"] for m in wide["matches"]} | {t for m in wide["matches"] for t in m["also"]}
    assert wide["unlisted"] and set(wide["unlisted"]).isdisjoint(listed)
    assert listed | set(wide["unlisted"]) | {"speech"} == set(many)
    for topic in wide["unlisted"]:  # each does match papers, on its own
        alone = world.client.get("/api/topic-preview", params={"topics": topic}).json()
        assert alone["matches"] and alone["unlisted"] == []


def test_topic_preview_refuses_what_the_form_would_refuse(world):
    # An exclusion that is one of the topics: Subscribe refuses it, so the preview says so too, rather
    # than "no match yet" as if the topic were merely quiet.
    for typed in ("agents\n-agents", "LLM reasoning\n-reasoning"):
        answer = world.client.get("/api/topic-preview", params={"topics": typed}).json()
        form = {"email": "ivy@example.org", "topics": typed, "timezone": "UTC", "hour": "7"}
        posted = world.client.post("/subscribe", data={**form, "csrftoken": world.csrf("/")})
        assert posted.status_code == 422
        assert answer["matches"] == [] and "a paper on it would be excluded" in answer["error"]
        assert answer["error"].split(": ", 1)[1] in posted.text.replace("&#39;", "'")
