from annotate.aggregation import LabelProvenance, Vote, Winner, aggregate_pairwise_votes


def human(pref, who="h1"):
    return Vote(source="human", overall_preference=pref, who=who)


def llm(pref, who="judge@v1"):
    return Vote(source="llm", overall_preference=pref, who=who)


def test_one_human_label_decides_and_says_so():
    label = aggregate_pairwise_votes([human(-2)])
    assert (label.winner, label.provenance, label.strength) == (Winner.A, LabelProvenance.SINGLE_HUMAN, -2)


def test_humans_outvote_the_llm():
    label = aggregate_pairwise_votes([human(1, "h1"), human(2, "h2"), llm(-2)])
    assert label.winner == Winner.B
    assert label.provenance == LabelProvenance.HUMAN_MAJORITY
    assert label.strength == 1.5
    assert (label.n_human, label.n_llm) == (2, 1)


def test_a_strict_majority_of_directions_wins_and_slightly_counts_with_clearly():
    label = aggregate_pairwise_votes([human(-1, "h1"), human(-2, "h2"), human(2, "h3")])
    assert label.winner == Winner.A
    assert label.agreement == 2 / 3


def test_an_even_human_split_is_flagged_not_guessed():
    label = aggregate_pairwise_votes([human(-1, "h1"), human(1, "h2"), llm(-2)])
    assert label.winner is None
    assert label.provenance == LabelProvenance.HUMAN_SPLIT


def test_llm_label_is_used_only_without_human_labels_and_names_the_model():
    label = aggregate_pairwise_votes([llm(1, "local-rm@v1")])
    assert label.winner == Winner.B
    assert label.provenance == LabelProvenance.LLM
    assert label.models == ("local-rm@v1",)


def test_ties_are_a_label_of_their_own():
    assert aggregate_pairwise_votes([human(0)]).winner == Winner.TIE


def test_no_votes_means_unlabelled():
    label = aggregate_pairwise_votes([])
    assert label.winner is None and label.provenance == LabelProvenance.UNLABELLED
