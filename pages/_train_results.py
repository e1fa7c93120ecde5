"""The Train page's results (not a page): a finished run's accuracy, confusion matrix and save
button, and the table of the person's runs (hide, rename, compare)."""

import altair as alt
import pandas as pd
import streamlit as st

from nn_core.health import diagnose
from nn_core.models import model_store
from nn_core.report import confusion_frame, describe
from nn_core.runs import RunsError
from nn_core.storage import check_name, model_bytes
from pages._models import free_name, why_not_saved
from pages._people import my_runs, visitor
from pages._widgets import plain, seconds


def results(job):
    if job.status == "failed" or job.status == "diverged":
        st.error(plain(job.message))
    elif job.status == "stopped":
        st.warning(plain(job.message))
    if job.result is None:
        return
    why = diagnose(job.history, job.result, job.config)
    if why:
        st.warning("%s has not learned. %s" % (plain(job.label), why), icon=":material/psychology_alt:")
    st.subheader("Results of %s" % plain(job.label))
    a, b, c = st.columns(3)
    a.metric("Test accuracy", "%.2f%%" % (100 * job.result["accuracy"]), help="on %d test images" % job.result["n"])
    b.metric("Training time", seconds(job.elapsed))
    c.metric(
        "Epochs",
        len(job.history) or "under 1",
        help=None if job.history else "stopped during its first epoch: the network is the one of its mini-batches so far",
    )
    cm = confusion_frame(job.result["confusion_matrix"])
    base = alt.Chart(cm).encode(x="predicted digit:O", y="true digit:O")
    base = base.properties(width=360, height=360)
    heat = base.mark_rect().encode(
        color=alt.Color("count:Q", scale=alt.Scale(type="symlog"), legend=None), tooltip=list(cm.columns)
    )
    text = base.mark_text(fontSize=11).encode(
        text="count:Q", color=alt.condition(alt.datum.count > 200, alt.value("white"), alt.value("black"))
    )
    st.markdown("**Confusion matrix** (rows: true digit, columns: what the network answered)")
    st.altair_chart(heat + text, width="content")
    save(job)


def save(job, runs=None, prefix=""):
    """Save or download the network of one of the person's runs that has a trained one (of
    ``runs``, the runs of a sweep say, else of their ordinary runs; ``prefix`` before every key)."""
    if not job.trained:
        st.caption("%s ended without a network to save." % plain(job.label))
    finished = {r.label: r for r in (my_runs() if runs is None else runs) if r.trained}
    if not finished:
        return
    if len(finished) > 1 or job.label not in finished:  # any of the person's runs can be saved, not only the latest
        labels = list(finished)
        chosen = st.selectbox(
            "Run to save",
            labels,
            index=labels.index(job.label) if job.label in finished else len(labels) - 1,
            key=prefix + "save_which",
            format_func=lambda label: "%s (test accuracy %.2f%%)" % (label, 100 * finished[label].result["accuracy"]),
            help="the network of any of your finished runs, with its test accuracy",
        )
        job = finished[chosen]
    name = st.text_input("Save as", value=free_name("my-model", len(my_runs())), key=prefix + "save_name")
    model = job.model()
    a, b = st.columns(2)
    if a.button("Save model", icon=":material/save:", key=prefix + "save"):
        try:
            check_name(name)
            saved = model_store().save(name, model.params, model.layer_data, dict(model.meta, name=name, owner=visitor()))
        except (ValueError, OSError) as exc:
            st.error(plain("Not saved: %s" % why_not_saved(exc)))
        else:
            st.success("Saved as %s. Pick it on the Draw page." % plain(saved))
    b.download_button(
        "Download .npz",
        lambda: model_bytes(model.params, model.layer_data, model.meta),
        file_name="%s.npz" % name,
        key=prefix + "download_model",
        help="the model file, built when clicked",
    )


def rename(runs):
    """The Rename button's callback (before the widgets are drawn, so the hidden list can follow)."""
    which, name = st.session_state.get("rename_which"), st.session_state.get("rename_to", "").strip()
    labels = [job.label for job in runs]
    if not name:
        st.session_state.rename_error = "Type a new name first."
    elif name in labels:
        st.session_state.rename_error = "Another run is called %s already." % name
    elif which in labels:
        try:
            runs[labels.index(which)].label = name
        except RunsError as exc:
            st.session_state.rename_error = str(exc)
            return
        st.session_state.hidden_runs = [name if h == which else h for h in st.session_state.get("hidden_runs", [])]
        st.session_state.rename_which = name


def runs_table():
    """The person's runs: which are on the charts, their names, and a table of results and settings."""
    runs = my_runs()
    if len(runs) < 2:
        return
    st.subheader("Your runs")
    labels = [job.label for job in runs]
    st.multiselect(
        "Hide runs from the charts",
        labels,
        key="hidden_runs",
        help="hide a run to see the others better; remove it from here to show it again. The run training now is always shown",
    )
    with st.expander("Rename a run"):
        st.selectbox("Run", labels, key="rename_which", help="the run to rename")
        st.text_input(
            "New name", key="rename_to", max_chars=40, help="a name that says what the run tried, such as 'sigmoid, rate 0.5'"
        )
        st.button(
            "Rename", key="rename", on_click=rename, args=(runs,), help="give the run its new name on the charts and in the table"
        )
        if "rename_error" in st.session_state:
            st.error(plain(st.session_state.pop("rename_error")))
    table = pd.DataFrame(
        [
            dict(
                run=job.label,
                status=job.status,
                **{
                    "test accuracy (%)": ("training" if job.running else "")
                    if job.result is None
                    else "%.2f" % (100 * job.result["accuracy"])
                },
                **{"time (s)": round(job.elapsed, 1)},
                **describe(job.config, job.n_train, job.batch_size, job.changes, len(job.history)),
            )
            for job in runs
        ]
    ).set_index("run")
    st.dataframe(table)
