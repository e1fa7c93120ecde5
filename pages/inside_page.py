"""Inside page: what a network learned and where it fails, for any saved model or the network
training now: its first-layer neurons, its mistakes, how far its confidence can be trusted, how
robust it is, and the saved models side by side. The arithmetic is ``nn_core.explain``'s."""

import base64
import io

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st
from PIL import Image

from nn_core import data, explain, pendigits
from nn_core.metrics import confusion_matrix
from nn_core.models import BIN_DAYS, model_store
from nn_core.network import describe_layers
from nn_core.report import COLUMNS
from nn_core.storage import ModelFileError
from pages._charts import digit_bars
from pages._models import TRAINING_NOW, choose_model, get_model, is_own_run, mnist, model_options, saved_names
from pages._models import model_version as version
from pages._people import current_job, visitor
from pages._widgets import keep, plain, remember

NEURONS, FAILS, TRUST, ROBUST, MODELS = (
    "What the neurons look for",
    "Where it fails",
    "How far to trust it",
    "How robust it is",
    "Models side by side",
)
VIEWS = [NEURONS, FAILS, TRUST, ROBUST, MODELS]
ROBUSTNESS_IMAGES = 300  # test digits distorted for the robustness curves (enough for a curve, quick to redo)
SHOWN = 24  # digits in a gallery
FAVOURITE_IMAGES = 2000  # test digits that say which digit each neuron fires most for
ROBUST_HEIGHT = 320  # pixels of each robustness chart, its title and legend included (one more line per model compared)
LABEL_LIMIT = 220  # pixels of a model's name in a legend: whole in a chart a third of a 1280-pixel page wide
CELLS = 300  # the confusion matrix's size in pixels (without its axes)


def pick():
    """The model to look inside; returns ``(model, key)``, the key naming that version of it for caching."""
    name, model = choose_model("inside_model", "a saved model, or the network you are training")
    if is_own_run(name):
        job = current_job()
        return model, "%s-%d-%d" % (id(job), len(job.history), job.running)
    st.caption("%s: %s." % (plain(name), describe_layers(model.layer_data)))
    return model, version(name)


def test_set():
    folder = data.data_dir()
    if not data.mnist_available(folder):
        st.info("This view needs the MNIST test set: download it on the Train page.")
        st.stop()
    try:
        return mnist(str(folder))
    except data.DataError as exc:
        st.error(plain(str(exc).replace(str(folder), "the server's data folder")))
        st.stop()


@st.cache_data(max_entries=8, show_spinner="Reading the 10,000 test digits ...")
def probabilities(key, _model, _images):
    """The model's probabilities for the test set, once per model version (``key``)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return _model.predict_proba(_images)


def answers(key, model, images):
    """``probabilities``, or a message and the end of the page where the network gives no usable
    answer (weights so large that its arithmetic overflows: possible in an imported model)."""
    p = probabilities(key, model, images)
    broken = ~np.isfinite(p).all(axis=1)
    if broken.all():
        st.error(
            "This network gives no answer that is a number: its weights are so large that the arithmetic "
            "overflows. Pick another model."
        )
        st.stop()
    if broken.any():
        st.warning(
            "For %d of the test digits this network's answer is not a number (its arithmetic overflows); "
            "they are shown as the answer 0." % broken.sum()
        )
    return np.nan_to_num(p, nan=0.0, posinf=0.0, neginf=0.0)


def gallery(images, captions, width=56, alt=None):
    """Test digits in a row, with their captions; ``alt``: what each shows, for a screen reader."""
    if len(images):
        st.image(
            [np.asarray(i).reshape(28, 28) for i in images],
            caption=captions,
            width=width,
            clamp=True,
            alt=alt or ["a test digit: %s" % c for c in captions],
        )
    else:
        st.caption("None.")


GALLERY_COLUMNS, GALLERY_CELL, GALLERY_GAP = 5, 56, 10  # 5 to a row: 330 pixels, a phone's width
GALLERY_SHOWN = 40


@st.cache_data(max_entries=16)
def favourite_digits(key, _model, _images, _labels):
    """For each first-layer neuron: the digit whose test images make it fire most on average,
    and by how much more than on the others (its selectivity)."""
    return explain.favourite_digits(_model, _images, _labels)


@st.cache_data(max_entries=32)
def gallery_spec(key, _model, neurons, current):
    """A clickable gallery of the neurons' weights, with gaps between them, neuron ``current``
    (counted from 1) framed (Vega-Lite)."""
    pictures = explain.neuron_weights(_model)
    tiles = []
    for k, n in enumerate(neurons):
        picture = explain.diverging(pictures[n])
        buffer = io.BytesIO()
        Image.fromarray(picture).save(buffer, format="PNG")
        r, c = divmod(k, GALLERY_COLUMNS)
        tiles.append(
            {
                "n": int(n) + 1,
                "x": c * (GALLERY_CELL + GALLERY_GAP),
                "y": r * (GALLERY_CELL + GALLERY_GAP),
                "url": "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode(),
            }
        )
    rows = max(1, -(-len(neurons) // GALLERY_COLUMNS))
    width, height = GALLERY_COLUMNS * (GALLERY_CELL + GALLERY_GAP), rows * (GALLERY_CELL + GALLERY_GAP)
    x = {"field": "x", "type": "quantitative", "scale": {"domain": [0, width], "nice": False}, "axis": None}
    y = {"field": "y", "type": "quantitative", "scale": {"domain": [0, height], "nice": False, "reverse": True}, "axis": None}
    tooltip = [{"field": "n", "title": "neuron"}]
    return {
        "width": width,
        "height": height,
        "padding": 0,
        "autosize": {"type": "none"},
        "config": {"view": {"stroke": None}},
        "data": {"values": tiles},
        "transform": [
            {"calculate": "datum.x + %d" % GALLERY_CELL, "as": "right"},
            {"calculate": "datum.y + %d" % GALLERY_CELL, "as": "bottom"},
        ],
        "layer": [
            {
                "mark": {
                    "type": "image",
                    "width": GALLERY_CELL,
                    "height": GALLERY_CELL,
                    "align": "left",
                    "baseline": "top",
                    "smooth": False,
                },
                "encoding": {"x": x, "y": y, "url": {"field": "url", "type": "nominal"}},
            },
            {
                "mark": {"type": "rect", "cursor": "pointer", "fillOpacity": 0, "fill": "white", "strokeWidth": 3},
                "params": [{"name": "pick", "select": {"type": "point", "fields": ["n"], "on": "click", "clear": False}}],
                "encoding": {
                    "x": x,
                    "y": y,
                    "x2": {"field": "right"},
                    "y2": {"field": "bottom"},
                    "tooltip": tooltip,
                    "stroke": {"condition": {"test": "datum.n == %d" % current, "value": "#e4572e"}, "value": "#d0d0d0"},
                },
            },
        ],
    }


def neurons_view(model, key, digits):
    n = len(explain.neuron_weights(model))
    st.markdown(
        "Each square is one neuron of the first hidden layer: its %d incoming weights, one per pixel, drawn where "
        "the pixel is. **Red** pixels push the neuron to fire, **blue** ones hold it back, white ones do not "
        "matter. They are grouped by the digit that makes them fire most. A mostly blue neuron fires when the ink "
        "stays out of its blue part: for it, where a digit leaves the paper empty is what counts." % (28 * 28)
    )
    favourite, selectivity = favourite_digits(key, model, digits.x_test[:FAVOURITE_IMAGES], digits.y_test[:FAVOURITE_IMAGES])
    counts = np.bincount(favourite, minlength=10)
    first = {} if "neuron_digit" in st.session_state else {"default": int(counts.argmax())}  # (kept from a page trip)
    digit = st.pills(
        "Neurons that fire most for",
        list(range(10)),
        key="neuron_digit",
        **first,
        format_func=lambda d: "%d (%d)" % (d, counts[d]),
        help="the digit whose test images make a neuron fire most, on average; in brackets, how many neurons",
    )
    digit = int(counts.argmax()) if digit is None else int(digit)
    group = np.flatnonzero(favourite == digit)
    group = group[np.argsort(-selectivity[group], kind="stable")]
    shown = group[:GALLERY_SHOWN]
    left, right = st.columns([1, 1])
    # The large neuron follows the chosen digit (the group's most selective), unless the person
    # typed a neuron's number: that one stays whatever the digit.
    if st.session_state.get("neuron_for_digit") != digit and not st.session_state.get("neuron_typed") and len(shown):
        st.session_state.neuron = int(shown[0]) + 1
    st.session_state.neuron_for_digit = digit
    with left:
        if not len(shown):
            st.caption("None of the %d neurons fires most for %d." % (n, digit))
        else:
            picked = st.session_state.get("neuron_gallery_%d" % digit)  # the gallery's last click, before it is drawn
            picked = ((picked or {}).get("selection", {}).get("pick") or [{}])[0].get("n")
            if picked is not None and st.session_state.get("neuron_picked") != (digit, picked):
                st.session_state.neuron_picked = (digit, picked)
                st.session_state.neuron = int(picked)  # the number box follows the click
                st.session_state.neuron_typed = False
            current = st.session_state.get("neuron", int(shown[0]) + 1)
            st.vega_lite_chart(
                gallery_spec(key, model, tuple(int(i) for i in shown), int(current)),
                on_select="rerun",
                selection_mode="pick",
                key="neuron_gallery_%d" % digit,
                width="content",
                alt="The weights of the %d neurons that fire most for %d, each as a small picture: neurons %s."
                % (len(shown), digit, ", ".join(str(int(i) + 1) for i in shown)),
            )
        st.caption(
            "%d of the %d neurons fire most for %d%s; click one to see it large and the test digits that make it "
            "fire." % (len(group), n, digit, "; the %d most selective are shown" % len(shown) if len(group) > len(shown) else "")
        )
    with right:
        if not 1 <= st.session_state.get("neuron", 1) <= n:  # another model, with fewer neurons
            del st.session_state["neuron"]
        first = {} if "neuron" in st.session_state else {"value": int(shown[0]) + 1 if len(shown) else 1}
        neuron = st.number_input(
            "Neuron",
            1,
            n,
            key="neuron",
            help="or type a neuron's number (1 to %d)" % n,
            **first,
            on_change=lambda: st.session_state.update(neuron_typed=True),
        )
        weights = explain.neuron_weights(model)[neuron - 1]
        st.image(
            explain.diverging(weights),
            caption="neuron %d's weights" % neuron,
            width=168,
            alt="The 784 weights of neuron %d drawn where their pixels are: red where ink makes it fire, blue where "
            "ink holds it back; it fires most for %d." % (neuron, favourite[neuron - 1]),
        )
    top = explain.strongest(model, digits.x_test, neuron - 1, k=12)
    st.markdown("**The test digits that make neuron %d fire most**" % neuron)
    gallery(
        digits.x_test[top],
        [str(int(digits.y_test[i])) for i in top],
        alt=["a test digit %s that makes neuron %d fire" % (explain.a_digit(digits.y_test[i]), neuron) for i in top],
    )


def fails_view(model, key, digits):
    p = answers(key, model, digits.x_test)
    predicted = p.argmax(axis=1)
    cm = confusion_matrix(digits.y_test, predicted)
    per_digit = np.diag(cm) / np.maximum(cm.sum(axis=1), 1)
    floor = max(0.0, min(0.95, np.floor((per_digit.min() - 1e-9) * 20) / 20))  # the 5% step below the weakest digit
    st.vega_lite_chart(
        spec=digit_bars(per_digit, "accuracy", percent=True, height=180, floor=floor),
        alt="Bar chart of the accuracy for each digit: %s."
        % ", ".join("%d %.1f%%" % (d, 100 * a) for d, a in enumerate(per_digit)),
    )
    st.caption(
        "Accuracy per digit on the %s test digits: %.2f%% in all. The axis starts at %.0f%%, so that the "
        "differences show." % (format(len(predicted), ","), 100 * (predicted == digits.y_test).mean(), 100 * floor)
    )
    off = cm - np.diag(np.diag(cm))
    default = np.unravel_index(off.argmax(), off.shape)
    cells = pd.DataFrame(
        [(i, j, int(cm[i, j])) for i in range(10) for j in range(10)], columns=["true digit", "answered", "count"]
    )
    click = alt.selection_point(name="cell", fields=["true digit", "answered"], on="click")
    base = alt.Chart(cells).encode(x="answered:O", y="true digit:O")
    heat = (
        base.mark_rect()
        .encode(
            color=alt.Color("count:Q", scale=alt.Scale(type="symlog"), legend=None),
            opacity=alt.condition(click, alt.value(1.0), alt.value(0.35)),
            tooltip=["true digit:O", "answered:O", "count:Q"],
        )
        .add_params(click)
    )
    text = base.mark_text(fontSize=11).encode(
        text="count:Q", color=alt.condition(alt.datum.count > 200, alt.value("white"), alt.value("black"))
    )
    left, right = st.columns([1, 1])
    with left:
        st.markdown("**Confusion matrix**: click a cell to see its digits")
        # A fixed plot of CELLS x CELLS pixels, its axes added around it ("pad"), never squeezed.
        chart = (heat + text).properties(width=CELLS, height=CELLS, autosize=alt.AutoSizeParams(type="pad"))
        event = st.altair_chart(
            chart,
            on_select="rerun",
            key="confusion",
            width="content",
            alt="Confusion matrix: for each true digit (rows), how many test digits were answered as each digit "
            "(columns); the most frequent mistake: %d read as %d, %d times." % (default[0], default[1], off.max()),
        )
    chosen = (event.selection.get("cell") or [{}])[0] if event is not None else {}
    true, said = int(chosen.get("true digit", default[0])), int(chosen.get("answered", default[1]))
    with right:
        st.markdown("**%s %d read as %d** (%d)" % ("Digits" if true != said else "Right answers:", true, said, cm[true, said]))
        shown = explain.confusion_examples(predicted, digits.y_test, true, said, k=SHOWN)
        gallery(
            digits.x_test[shown],
            ["%.0f%%" % (100 * p[i, said]) for i in shown],
            alt=["%s read as %d, with %.0f%%" % (explain.a_digit(true), said, 100 * p[i, said]) for i in shown],
        )
    st.markdown("**Its most confident mistakes** (true digit → answer, with the probability it gave)")
    worst = explain.confident_mistakes(p, digits.y_test, k=SHOWN)
    gallery(
        digits.x_test[worst],
        ["%d→%d %.0f%%" % (digits.y_test[i], predicted[i], 100 * p[i, predicted[i]]) for i in worst],
        width=64,
        alt=[
            "%s read as %d, with %.0f%%" % (explain.a_digit(digits.y_test[i]), predicted[i], 100 * p[i, predicted[i]])
            for i in worst
        ],
    )


def trust_view(model, key, digits):
    p = answers(key, model, digits.x_test)
    rows, gap = explain.reliability(p, digits.y_test)
    frame = pd.DataFrame(rows)
    st.markdown(
        "When the network says it is 90% sure, is it right 90% of the time? Its answers on the test digits are "
        "grouped by the probability it gave; each bar is how often it was right in that group."
    )
    bars = (
        alt.Chart(frame)
        .mark_bar(opacity=0.8)
        .encode(
            x=alt.X(
                "from:Q",
                bin="binned",
                title="probability the network gave",
                scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(values=[i / 10 for i in range(11)], format=".1f"),  # the groups' edges, not twice as many ticks
            ),
            x2="to:Q",
            y=alt.Y(
                "accuracy:Q",
                title="share right",
                scale=alt.Scale(domain=[0, 1.08]),
                axis=alt.Axis(format="%", values=[0, 0.25, 0.5, 0.75, 1]),
            ),
            tooltip=[alt.Tooltip("confidence:Q", format=".1%"), alt.Tooltip("accuracy:Q", format=".1%"), "count:Q"],
        )
    )
    counts = (
        alt.Chart(frame.assign(middle=(frame["from"] + frame["to"]) / 2))
        .mark_text(dy=-7, fontSize=11)
        .encode(x="middle:Q", y="accuracy:Q", text=alt.Text("count:Q", format=","))
    )
    ideal = (
        alt.Chart(pd.DataFrame({"x": [0, 1], "y": [0, 1]})).mark_line(strokeDash=[4, 4], color="gray").encode(x="x:Q", y="y:Q")
    )
    st.altair_chart(
        bars + counts + ideal,
        height=340,
        alt="Bar chart: for each range of probability the network gave, the share "
        "of its answers that were right: %s."
        % "; ".join(
            "%.0f-%.0f%%: %.1f%% right of %d" % (100 * r["from"], 100 * r["to"], 100 * r["accuracy"], r["count"]) for r in rows
        ),
    )
    a, b = st.columns(2)
    a.metric(
        "Calibration error",
        "%.2f points" % (100 * gap),
        help="the average gap between the probability given and the share right, weighted by how many answers "
        "are in each group (expected calibration error): 0 is perfectly honest",
    )
    sure = float((p.max(axis=1) > 0.99).mean())
    b.metric(
        "Answers it was over 99% sure of",
        "%.1f%% of all" % (100 * sure),
        help="the share of the test digits it answered with a probability above 0.99: how often it is that sure",
    )
    st.markdown(calibration_in_words(frame, gap))
    st.caption(
        "The dashed line is perfect honesty. Bars under it: the network is surer than it should be; above it: "
        "less sure. The number on each bar is how many of the %s answers fell in that group."
        % format(int(frame["count"].sum()), ",")
    )


def calibration_in_words(frame, gap):
    """The calibration error as a sentence: how far off, and in which direction."""
    lean = float(((frame["confidence"] - frame["accuracy"]) * frame["count"]).sum() / frame["count"].sum())
    if 100 * gap < 1:
        return (
            "Its confidence can be taken at its word: on average the probability it gives is %.2f percentage points "
            "from how often it is right." % (100 * gap)
        )
    return (
        "On average the probability it gives is %.1f percentage points from how often it is right: it is %s sure "
        "than it should be." % (100 * gap, "more" if lean > 0 else "less")
    )


@st.cache_data(max_entries=16, show_spinner="Distorting test digits ...")
def robustness_rows(key, _model, _images, _labels):
    return explain.robustness(_model, _images, _labels)


def robust_view(model, key, digits):
    images, labels = digits.x_test[:ROBUSTNESS_IMAGES], digits.y_test[:ROBUSTNESS_IMAGES]
    choices = [n for n in saved_names() if n != st.session_state.get("inside_model")]
    if choices:
        others = st.multiselect(
            "Compare with", choices, key="robust_others", help="other saved models to draw on the same charts"
        )
    else:  # (an empty, greyed list said nothing, and in too faint a grey)
        others = []
        st.caption("Save another model on the Train page to compare it here.")
    me = st.session_state.get("inside_model") or "this model"
    rows = [dict(r, model=me) for r in robustness_rows(key, model, images, labels)]
    for name in others:
        try:
            other = get_model(name)
        except (ModelFileError, OSError) as exc:
            st.warning(plain("%s left out: %s" % (name, exc)))
            continue
        rows += [dict(r, model=name) for r in robustness_rows(version(name), other, images, labels)]
    frame = pd.DataFrame(rows)
    named = [me] + [name for name in others if name in set(frame["model"])]
    # The model looked at is named, and first in the colour scale: the same blue alone or compared.
    colours = alt.Color(
        "model:N",
        scale=alt.Scale(domain=named, scheme="category10"),
        legend=alt.Legend(orient="bottom", direction="vertical", title=None, labelLimit=LABEL_LIMIT),
    )
    st.markdown(
        "Accuracy on %d test digits as they are turned, moved, resized, thickened or thinned, and sprinkled with "
        "noise. A steep fall means the network learned where the ink is, not what the digit is." % ROBUSTNESS_IMAGES
    )
    columns = st.columns(3)
    for i, (kind, (_levels, meaning)) in enumerate(explain.ROBUSTNESS.items()):
        chart = (
            alt.Chart(frame[frame["kind"] == kind])
            .mark_line(point=True)
            .encode(
                x=alt.X("level:Q", title=meaning),
                y=alt.Y("accuracy:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
                color=colours,
                tooltip=["model:N", alt.Tooltip("level:Q", title=meaning), alt.Tooltip("accuracy:Q", format=".1%")],
            )
            .properties(title=kind)
        )
        # The height given to Streamlit, not in the chart: Streamlit fits the whole chart (title and
        # legend too) into a chart's own height, which left a flat line with no y axis at 200 pixels.
        columns[i % 3].altair_chart(
            chart,
            height=ROBUST_HEIGHT + 18 * (len(named) - 1),
            alt="Line chart: accuracy of %s against %s (%s)" % (", ".join(named), kind, meaning),
        )


@st.cache_resource(show_spinner="Drawing the pen-drawn digits of writers 27-30 as on the canvas ...")
def unseen_pen_digits():
    """The measuring set of the writers the shipped model never saw (shared by every visitor)."""
    return pendigits.measuring_set(pendigits.load_pendigits(), pendigits.UNSEEN_WRITERS)


@st.cache_data(max_entries=64, show_spinner=False)
def pen_accuracy(key, _model):
    images, labels, _ = unseen_pen_digits()
    return float((_model.predict_proba(images).argmax(axis=1) == labels).mean())


def seen_unseen_writers(meta):
    """Whether a model trained on the pen-drawn digits of writers 27-30."""
    hp = meta.get("hyperparameters", {})
    return bool(hp.get("pen_digits")) and not set(pendigits.UNSEEN_WRITERS) <= set(hp.get("pen_holdout") or [])


def delete(name):
    """The Delete button's callback (so that the confirmation box can be unticked)."""
    try:
        model_store().delete(name, visitor())
    except (ValueError, OSError) as exc:
        st.session_state.delete_error = str(exc)
    else:
        st.session_state.deleted = name
        st.session_state.delete_sure = False


def undo_delete(name):
    """The Undo button's callback: the model comes back from the bin."""
    try:
        model_store().restore(name, visitor())
    except (ValueError, OSError) as exc:
        st.session_state.delete_error = "%s was not brought back: %s" % (name, exc)
    else:
        st.session_state.pop("deleted", None)
        st.session_state.restored = name


def models_view():
    if "deleted" in st.session_state:
        name = st.session_state.deleted
        note, undo = st.columns([4, 1], vertical_alignment="center")
        note.success("Deleted %s. It waits in the bin for %d days: Undo brings it back." % (plain(name), BIN_DAYS))
        undo.button(
            "Undo",
            key="undo_delete",
            icon=":material/undo:",
            on_click=undo_delete,
            args=(name,),
            help="bring the model back, as it was",
        )
    if "restored" in st.session_state:
        st.success("%s is back." % plain(st.session_state.pop("restored")))
    names = saved_names()
    measure = pendigits.pendigits_available() and st.toggle(
        "Measure on pen-drawn digits",
        key="measure_pen",
        help="add each model's accuracy on the digits written on a tablet by writers 27-30, drawn as on the canvas "
        "(a few seconds the first time); a model that trained on those writers is marked",
    )
    rows, curves = [], []
    for name in names:
        try:
            m = get_model(name)
        except (ModelFileError, OSError):
            rows.append({"model": name, "network": "(cannot be read)"})
            continue
        meta, hp = m.meta, m.meta.get("hyperparameters", {})
        acc = meta.get("test_accuracy")
        row = {"model": name, "test accuracy (%)": None if acc is None else round(100 * acc, 2)}
        if measure:
            try:
                row["pen-drawn, writers 27-30 (%)"] = round(100 * pen_accuracy(version(name), m), 2)
            except data.DataError as exc:
                st.warning(plain("The pen-drawn digits cannot be read: %s" % exc))
                measure = False
            row["saw writers 27-30"] = seen_unseen_writers(meta)
        seconds = meta.get("train_seconds")
        rows.append(
            dict(
                row,
                **{
                    "training time (s)": round(seconds, 1) if isinstance(seconds, (int, float)) else None,
                    "network": describe_layers(m.layer_data),
                    # 0 for a run stopped in its first epoch; blank where the file keeps no history.
                    "epochs": len(meta["history"]) if isinstance(meta.get("history"), list) else None,
                    "mini_batch": hp.get("mini_batch"),
                    "rate": hp.get("rate"),
                    "lamda": hp.get("lamda"),
                    "optimizer": hp.get("optimizer"),
                    "dropout": hp.get("dropout"),
                    "augment": hp.get("augment"),
                    "data": meta.get("data"),
                    "fine-tuned from": meta.get("started_from"),
                },
            )
        )
        history = [r for r in meta.get("history", []) if isinstance(r, dict)]
        if history:
            frame = pd.DataFrame(history)
            column = "val_acc" if "val_acc" in frame and frame["val_acc"].notna().any() else "train_acc"
            # Each model's line says which accuracy it is: the shipped model kept no validation set.
            label = "%s: %s" % (name, COLUMNS[column])
            curves.append(frame.assign(model=label)[["model", "epoch", column]].rename(columns={column: COLUMNS[column]}))
    st.dataframe(pd.DataFrame(rows).set_index("model"))
    if curves:
        long = pd.concat([c.melt(id_vars=["model", "epoch"], var_name="curve", value_name="accuracy") for c in curves]).dropna()
        st.markdown("**Their training curves** (validation accuracy where they kept a validation set, else training accuracy)")
        if any(c.columns[-1] == COLUMNS["train_acc"] for c in curves):
            st.caption(
                "Training accuracy is measured while the network trains: on the training digits as it saw them "
                "(distorted when it trained with augmentation, with neurons switched off by dropout), so it can "
                "end below the test accuracy."
            )
        st.altair_chart(
            alt.Chart(long)
            .mark_line(point=True)
            .encode(
                x=alt.X("epoch:Q", axis=alt.Axis(tickMinStep=1)),
                y=alt.Y("accuracy:Q", scale=alt.Scale(zero=False)),
                color=alt.Color(
                    "model:N",
                    scale=alt.Scale(scheme="category10"),
                    legend=alt.Legend(orient="bottom", direction="vertical", title=None, labelLimit=LABEL_LIMIT),
                ),
                strokeDash=alt.StrokeDash("curve:N", legend=None),
                tooltip=["model:N", "curve:N", "epoch:Q", alt.Tooltip("accuracy:Q", format=".2%")],
            )
            .properties(height=300 + 18 * len(curves))
        )
    with st.expander("Delete a model you saved"):
        try:
            deletable = model_store().models_of(visitor())
        except OSError as exc:
            st.error(plain(str(exc)))
            return
        if not deletable:
            st.caption(
                "You have saved no model here. You can delete the models you save; those of others, and the shipped model, stay."
            )
            return
        victim = st.selectbox(
            "Model to delete",
            deletable,
            key="delete_which",
            help="only the models you saved are in this list: those of others and the shipped model stay",
        )
        sure = st.checkbox(
            "Yes, delete %s" % victim,
            key="delete_sure",
            help="it waits in a bin for %d days, from where Undo brings it back" % BIN_DAYS,
        )
        st.button(
            "Delete",
            key="delete_model",
            disabled=not sure,
            icon=":material/delete:",
            on_click=delete,
            args=(victim,),
            help="move the model file and its metadata to the bin",
        )
        if "delete_error" in st.session_state:
            st.error(plain("Not deleted: %s" % st.session_state.pop("delete_error")))


st.title("Inside the network")
st.caption(
    "What a network has learned, where it goes wrong and how far to trust it. Why it gave one answer: "
    'turn on "Why this answer?" under the answer on the Draw page.'
)
remember({"inside_model": model_options(), "inside_view": None, "neuron_digit": list(range(10))})
view = st.radio("View", VIEWS, key="inside_view", horizontal=True, label_visibility="collapsed", help="what to look at")
if view == MODELS:
    models_view()
else:
    model, key = pick()
    digits = test_set()
    job = current_job()
    live = st.session_state.get("inside_model") == TRAINING_NOW and job is not None and job.running
    views = {NEURONS: neurons_view, FAILS: fails_view, TRUST: trust_view, ROBUST: robust_view}
    if view == NEURONS and live:
        # The neurons change with every epoch: redraw them while the network trains.
        st.fragment(lambda: neurons_view(current_job().model(), None, digits), run_every=2.0)()
    else:
        views[view](model, key, digits)
keep(["inside_model", "inside_view", "neuron_digit"])
