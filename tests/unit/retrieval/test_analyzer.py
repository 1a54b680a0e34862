import threading

import snowballstemmer

from retrieval.analyzer import analyze, query_terms

WORDS = [
    "running",
    "runners",
    "ran",
    "easily",
    "fairly",
    "generously",
    "organisation",
    "organizational",
    "reimbursements",
    "employees",
    "employed",
    "employing",
    "approvals",
    "approved",
    "policies",
    "policy",
    "cycling",
    "cyclists",
]


def test_english_is_stemmed_stop_words_go_and_other_scripts_pass_through() -> None:
    assert analyze("The runners were running to the offices") == ["runner", "run", "offic"]
    assert analyze("東京 Ελληνικά") == ["東京", "ελληνικά"]
    assert analyze("a" * 80) == ["a" * 64]
    assert query_terms("leave, Leave and LEAVE days") == ["leav", "day"]


def test_memoised_terms_equal_a_fresh_snowball_stemmer() -> None:
    fresh = snowballstemmer.stemmer("english").stemWords(WORDS)
    assert analyze(" ".join(WORDS)) == fresh
    assert analyze(" ".join(WORDS)) == fresh  # second time from the memo


def test_threads_analyzing_at_once_get_what_one_thread_gets() -> None:
    # Words the memo has not seen, so every thread really stems (the stemmer keeps state).
    texts = [" ".join(f"{w}{i}ing {w}{i}ness" for w in WORDS) for i in range(40)]
    stemmer = snowballstemmer.stemmer("english")
    expected = [stemmer.stemWords(t.split()) for t in texts]
    results: list[list[list[str]]] = [[] for _ in range(4)]

    def work(slot: int) -> None:
        results[slot] = [analyze(t) for t in texts]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r == expected for r in results)
