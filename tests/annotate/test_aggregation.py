from annotate.aggregation import LabelProvenance, Vote, Winner, aggregate_pairwise_votes


def human(pref, who="h1", guidelines_version=1):
    return Vote(
        source="human", overall_preference=pref, who=who, guidelines_version=guidelines_version
    )


def llm(pref, who="judge@v1", guidelines_version=1):
    return Vote(
        source="llm", overall_preference=pref, who=who, guidelines_version=guidelines_version
    )


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


def test_a_plurality_of_humans_that_is_not_a_strict_majority_is_a_split():
    # A has 2 of 4 votes: more than any other direction, but not more than half.
    label = aggregate_pairwise_votes(
        [human(-1, "h1"), human(-2, "h2"), human(1, "h3"), human(0, "h4")]
    )
    assert label.winner is None
    assert label.provenance == LabelProvenance.HUMAN_SPLIT
    assert (label.strength, label.agreement) == (None, None)


def test_three_of_four_humans_are_a_strict_majority():
    label = aggregate_pairwise_votes(
        [human(-1, "h1"), human(-2, "h2"), human(-1, "h3"), human(0, "h4")]
    )
    assert (label.winner, label.provenance) == (Winner.A, LabelProvenance.HUMAN_MAJORITY)
    assert label.agreement == 3 / 4


def test_a_plurality_of_llm_votes_that_is_not_a_strict_majority_is_a_split():
    label = aggregate_pairwise_votes(
        [llm(-1, "a@v1"), llm(-2, "b@v1"), llm(1, "c@v1"), llm(0, "d@v1")]
    )
    assert label.winner is None
    assert label.provenance == LabelProvenance.LLM_SPLIT
    assert label.models == ()


def test_a_strict_majority_of_llm_votes_decides():
    label = aggregate_pairwise_votes([llm(1, "a@v1"), llm(2, "b@v1"), llm(-1, "c@v1")])
    assert (label.winner, label.provenance) == (Winner.B, LabelProvenance.LLM_MAJORITY)
    assert label.models == ("a@v1", "b@v1", "c@v1")


def test_the_label_names_the_guidelines_versions_of_the_deciding_votes_only():
    label = aggregate_pairwise_votes(
        [
            human(-1, "h1", guidelines_version=2),
            human(-2, "h2", guidelines_version=1),
            human(-2, "h3", guidelines_version=2),
            llm(1, guidelines_version=3),
        ]
    )
    assert label.guidelines_versions == (1, 2)
    assert aggregate_pairwise_votes([llm(1, guidelines_version=3)]).guidelines_versions == (3,)
    assert aggregate_pairwise_votes([]).guidelines_versions == ()


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


def imported(pref, who="imported:w1"):
    return Vote(source="imported", overall_preference=pref, who=who)


def test_this_platforms_humans_decide_before_the_datasets_own_labels():
    label = aggregate_pairwise_votes([human(1), imported(-2), imported(-2)])
    assert (label.winner, label.provenance, label.deciding_source) == ("B", "single_human", "human")
    assert (label.n_human, label.n_imported) == (1, 2)


def test_imported_labels_decide_before_llm_labels_by_the_same_strict_majority():
    assert aggregate_pairwise_votes([imported(-1), llm(2)]).provenance == "single_imported"
    assert aggregate_pairwise_votes([imported(-1), imported(-2), llm(2)]).provenance == "imported_majority"
    split = aggregate_pairwise_votes([imported(-1, "a"), imported(1, "b"), llm(2)])
    assert (split.winner, split.provenance) == (None, "imported_split")


def test_a_jury_label_alone_decides_among_llm_votes_and_humans_still_come_first():
    from annotate.aggregation import LabelProvenance, Vote, aggregate_pairwise_votes, deciding_votes

    judges = [
        Vote(source="llm", overall_preference=2, who="judge-1@v1"),
        Vote(source="llm", overall_preference=2, who="judge-2@v1"),
    ]
    jury = Vote(source="llm", overall_preference=-1, who="jury@jury-v1")
    label = aggregate_pairwise_votes([*judges, jury])
    # The jury weighed both judges already (one of them had a negative weight): counting them
    # again would outvote it 2 to 1.
    assert label.winner == "A" and label.provenance == LabelProvenance.LLM_JURY
    assert label.models == ("jury@jury-v1",) and label.n_llm == 3
    assert deciding_votes([*judges, jury], label) == [jury]
    human = Vote(source="human", overall_preference=1, who="annotator-x")
    with_human = aggregate_pairwise_votes([*judges, jury, human])
    assert with_human.winner == "B" and with_human.deciding_source == "human"
    assert aggregate_pairwise_votes(judges).provenance == LabelProvenance.LLM_MAJORITY
