"""The basic cleaning steps, each on its own and chained, on examples and on any string."""

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.normalize import (
    clean,
    collapse_spaces,
    join_wrapped_lines,
    remove_spaces_between_japanese,
    strip_item_number,
    unify_bullets,
    unify_width,
)


def test_unify_width_ascii_to_half_and_kana_to_full():
    assert unify_width("ＴＬＳ１．３とＩＳＭＳ") == "TLS1.3とISMS"
    assert unify_width("ｶﾙﾃ ﾊﾞｯｸｱｯﾌﾟ") == "カルテ バックアップ"
    assert unify_width("②～④") == "②～④"  # the wave dash stays
    assert unify_width("①②③") == "①②③"  # item numbers are not folded


def test_unify_bullets_all_dash_variants_become_one_marker_per_line():
    assert unify_bullets("含めること。 - 入力者 - 記録") == "含めること。\n－入力者\n－記録"
    assert unify_bullets("以下の対応を行うこと。 一 攻撃を受けた 一 他の") == "以下の対応を行うこと。\n－攻撃を受けた\n－他の"
    assert unify_bullets("次を含めること。 ー 委託元") == "次を含めること。\n－委託元"
    assert unify_bullets("実施すること。 －適切な利用範囲") == "実施すること。\n－適切な利用範囲"


def test_unify_bullets_leaves_hyphens_inside_words_and_numbers():
    for text in ("SSL-VPN を利用", "Wi-Fi", "6.2.3C4 -", "一時遮断", "ユーザー", "-5 度"):
        assert unify_bullets(text) == text


def test_join_wrapped_lines_keeps_list_entries():
    assert join_wrapped_lines("規程等に\n定めること。\n－入力者\na 医療情報等の\n・政府情報") == "規程等に定めること。\n－入力者\na 医療情報等の\n・政府情報"


def test_remove_spaces_between_japanese_only():
    assert remove_spaces_between_japanese("利用 者の 安 全管理") == "利用者の安全管理"
    assert remove_spaces_between_japanese("ISMS 認証と IT7 号") == "ISMS 認証と IT7 号"


def test_collapse_spaces():
    assert collapse_spaces("  TLS   1.3 \n\n 以上 ") == "TLS 1.3\n以上"


def test_clean_on_real_sample_cells():
    # line 38 of the sample: a cell wrapped with spaces by the OCR
    assert clean("アクセス管理に関する規程に基づいてアクセス権限を付与する場 合、権限の実態が反映できるよう、利 用者が") == (
        "アクセス管理に関する規程に基づいてアクセス権限を付与する場合、権限の実態が反映できるよう、利用者が"
    )
    # line 45: bullets inline
    assert clean("以下の事項を規程等に含めること。 - 入力者及び確定者の識別・認証 - 更新履歴の保存") == (
        "以下の事項を規程等に含めること。\n－入力者及び確定者の識別・認証\n－更新履歴の保存"
    )


def test_strip_item_number_reads_the_raw_marker():
    assert strip_item_number("⑫ 保守を実施する") == "保守を実施する"
    assert strip_item_number("②～④を踏まえて") == "～④を踏まえて"


@settings(max_examples=400)
@given(st.text())
def test_clean_is_idempotent_and_total(text):
    once = clean(text)
    assert clean(once) == once


@settings(max_examples=300)
@given(st.text(alphabet="①②－-ー一 　\n。、ＡＢabc利用者ｶﾙﾃ()（）・【】", max_size=60))
def test_clean_is_idempotent_on_guideline_like_text(text):
    once = clean(text)
    assert clean(once) == once
    assert "  " not in once
