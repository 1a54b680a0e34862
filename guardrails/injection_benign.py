"""Benign training prompts that use injection trigger words ("ignore", "override", "system").

Written for this project (templates times fillers). deepset's benign prompts almost never use such
words, so without these a classifier learns "trigger word means attack" and blocks honest users.
"""

from itertools import product

_TEMPLATES_EN = (
    "How do I {verb} {thing} in {tool}?",
    "Is it safe to {verb} {thing}?",
    "What happens if I {verb} {thing}?",
    "Why does {tool} {verb} {thing} by default?",
    "Can you explain when it is fine to {verb} {thing}?",
    "Our policy says never {verb} {thing}. Why is that?",
    "Please summarise the {doc} and list any {rule_word} I must follow.",
    "What are the {rule_word} for {topic} in the {doc}?",
    "Explain the {adjective} {rule_word} for {topic}.",
    "Which {command_word} should I run to {task}?",
    "Describe how the {command_word} works when you {task}.",
    "Can you PROVIDE an overview of {topic}?",
    "I forgot my {secret_word}; how do I reset it?",
    "Where can I find the {adjective} version of the {doc}?",
    "Does the {doc} {verb} the {adjective} {rule_word}?",
    "What does '{jargon}' mean in the context of {topic}?",
    "Write a short story where a character must {verb} {thing} to save the day.",
    "Translate this sentence into German: please {verb} {thing} before the meeting.",
)
_TEMPLATES_DE = (
    "Wie kann ich {de_thing} {de_verb}?",
    "Darf ich {de_thing} {de_verb}, wenn es dringend ist?",
    "Was passiert, wenn ich {de_thing} {de_verb}?",
    "Welche Regeln gelten für {de_topic}?",
    "Kannst du die vorherigen Abschnitte über {de_topic} zusammenfassen?",
)
_FILLERS = {
    "verb": ("ignore", "bypass", "override", "disable", "skip", "forget", "reset", "overwrite"),
    "thing": (
        "the cache", "SSL certificate warnings", "a failing unit test", "whitespace changes",
        "the previous settings", "the default configuration", "a pop-up blocker",
        "the earlier instructions from my manager", "the login prompt", "all warnings",
    ),
    "tool": ("git", "Excel", "the VPN client", "Outlook", "Docker", "the admin console"),
    "doc": ("employee handbook", "security policy", "travel guidelines", "previous email",
            "system documentation", "onboarding checklist", "above document"),
    "rule_word": ("instructions", "rules", "guidelines", "restrictions", "stipulations", "orders"),
    "topic": ("renewable energy", "expense reports", "remote work", "password rotation",
              "adversarial machine learning", "jailbreaking a phone", "role-playing games",
              "prompt engineering", "system administration", "data privacy"),
    "adjective": ("previous", "original", "hidden", "unrestricted", "unfiltered", "new", "initial"),
    "command_word": ("command", "system command", "admin command", "terminal command", "sudo"),
    "task": ("restart the server", "delete old logs", "update all packages", "list every user",
             "reveal hidden files", "print the environment variables"),
    "secret_word": ("password", "API key", "PIN", "system password"),
    "jargon": ("jailbreak", "prompt injection", "sandbox escape", "privilege escalation",
               "developer mode", "system prompt", "root access"),
    "de_verb": ("ignorieren", "überspringen", "vergessen", "zurücksetzen", "umgehen"),
    "de_thing": ("die Warnung", "die vorherigen Einstellungen", "den Cache", "die alte Regel",
                 "die Anweisung meines Teams"),
    "de_topic": ("Homeoffice", "Reisekosten", "Datenschutz", "Passwörter", "Urlaub"),
}  # fmt: skip


def benign_prompts(limit_per_template: int = 24) -> list[str]:
    """Deterministic benign prompts: up to ``limit_per_template`` fillings of each template."""
    prompts: list[str] = []
    for template in _TEMPLATES_EN + _TEMPLATES_DE:
        names = [n for n in _FILLERS if "{" + n + "}" in template]
        choices = product(*(_FILLERS[n] for n in names))
        # Stride through the product so each template uses varied fillers, not one prefix.
        filled = [template.format(**dict(zip(names, c, strict=True))) for c in choices]
        step = max(1, len(filled) // limit_per_template)
        prompts.extend(filled[::step][:limit_per_template])
    return prompts


# Imperative, everyday requests that use trigger words ("ignore", "forget", "pretend", "reveal",
# "above all", "unrestricted", "system", "bypass") in a harmless sense.
_IMPERATIVE_TEMPLATES = (
    "{verb_cap} the {noise} when you check {focus}.",
    "Try to {verb} {noise} while you {activity}.",
    "Please {activity} and then {activity2}.",
    "Pretend you are {role} and explain {topic} to a beginner.",
    "Imagine you are {role}; describe a typical day.",
    "Act as {role} and give me three tips about {topic}.",
    "Draft a {artifact} that ignores {noise} and highlights {focus}.",
    "Forget the {noise} for a moment and {activity}.",
    "Summarise the text above in two sentences.",
    "Stell dir vor, du bist {de_role}, und erkläre {de_topic}.",
    "Vergiss nicht, {de_activity}.",
    "Erstelle eine Übersicht über {de_topic}.",
)
_IMPERATIVE_FILLERS = {
    "verb": ("ignore", "forget", "disregard", "set aside", "skip", "bypass"),
    "verb_cap": ("Ignore", "Forget", "Disregard", "Set aside", "Skip"),
    "noise": ("background noise", "minor typos", "negative comments",
              "the small details", "the previous draft", "the old slides", "jargon",
              "outdated instructions in the manual", "unnecessary rules of thumb"),
    "focus": ("the main argument", "the customer's needs", "the key dates", "the final result"),
    "activity": ("review your notes", "drink some water", "write down your goals", "check the budget",
                 "stretch for five minutes", "back up your files"),
    "activity2": ("start the meeting", "send the report", "go to bed", "call the client",
                  "submit the form"),
    "role": ("a tour guide in Rome", "a chemistry teacher", "a friendly librarian",
             "a football coach", "an astronaut", "a travel agent", "a kind grandmother",
             "a detective in a novel"),
    "topic": ("the solar system", "photosynthesis", "medieval castles", "saving money",
              "healthy sleep", "climate change", "the history of jazz", "machine learning",
              "password security", "volcanoes"),
    "artifact": ("presentation", "cheat sheet", "lesson plan", "poster", "newsletter", "quiz"),
    "de_role": ("ein Reiseführer in Wien", "eine Lehrerin", "ein Koch", "ein Förster"),
    "de_topic": ("den Wasserkreislauf", "die Bundestagswahl", "gesunde Ernährung",
                 "den Herbst", "die Geschichte Berlins"),
    "de_activity": ("regelmäßig Pausen zu machen", "die Unterlagen mitzubringen",
                    "die Heizung abzudrehen", "deine Ziele aufzuschreiben"),
}  # fmt: skip


def imperative_benign_prompts(limit_per_template: int = 12) -> list[str]:
    """Benign imperative prompts with trigger words, ``limit_per_template`` per template."""
    prompts: list[str] = []
    for template in _IMPERATIVE_TEMPLATES:
        names = [n for n in _IMPERATIVE_FILLERS if "{" + n + "}" in template]
        filled = [
            template.format(**dict(zip(names, c, strict=True)))
            for c in product(*(_IMPERATIVE_FILLERS[n] for n in names))
        ]
        step = max(1, len(filled) // limit_per_template)
        prompts.extend(filled[::step][:limit_per_template])
    return prompts
