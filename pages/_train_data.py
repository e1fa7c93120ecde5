"""The Train page's data (not a page): what this server can train on (MNIST, downloaded if
missing, or an uploaded Kaggle CSV) and how many images a run would use, in words."""

import dataclasses

import streamlit as st

from nn_core import data, runspec
from nn_core.download import download_mnist
from nn_core.drawings import DrawingsError
from nn_core.runspec import DataRecipe, RunSpec
from pages._widgets import once_per_upload, plain, upload_box


@dataclasses.dataclass
class DataChoice:
    """What this server can train on now: a recipe (MNIST, or an uploaded CSV by its path), its
    name, and how many training and test images it has."""

    recipe: DataRecipe
    name: str
    n_train: int
    n_test: int


def training_data():
    """The data to train on (a ``DataChoice``), or None with an explanation."""
    folder = data.data_dir()
    if data.mnist_available(folder):
        return DataChoice(DataRecipe(data_dir=str(folder)), "MNIST", runspec.MNIST_TRAIN, runspec.MNIST_TEST)
    st.warning("MNIST is not on this machine yet (it is looked for in the server's data folder, set by NN_CORE_DATA_DIR).")
    if st.button("Download MNIST (about 11 MB)", icon=":material/download:", key="download"):
        with st.status("Downloading MNIST ...", expanded=True) as status:
            bar = st.progress(0.0, text="Connecting ...")

            def progress(name, done, total):
                bar.progress(done / total if total else 0.0, text="%s: %.1f MB" % (name, done / 1e6))

            try:
                download_mnist(folder, progress=progress, log=st.text)
            except data.DataError as exc:
                status.update(label="Download failed", state="error")
                failure = exc
            else:
                status.update(label="MNIST downloaded and verified", state="complete")
                st.rerun()
        st.error(
            plain(str(failure).replace(str(folder), "the server's data folder"))
            + "\n\nOffline? Copy the four MNIST files into that folder (or set NN_CORE\\_DATA\\_DIR "
            "before starting the app), or upload Kaggle's train.csv below."
        )
    upload = upload_box("Or train on Kaggle's digit-recognizer train.csv", ["csv"], key="kaggle_csv")
    if upload is None:
        return None
    # Checked once per upload, in a process of its own: pandas takes a gigabyte and more for a
    # large CSV, which the server should never hold (nn_core.runspec.take_upload).
    with st.spinner("Reading %s ..." % plain(upload.name)):
        checked = once_per_upload(upload, "checked_upload", lambda u: runspec.take_upload(u.getvalue()), data.DataError)
    if isinstance(checked, data.DataError):
        st.error(plain("%s: %s" % (upload.name, checked)))
        return None
    path, rows = checked
    n_test = rows - round(rows * (1 - runspec.KAGGLE_TEST_FRACTION))
    st.caption(plain("Data: %s, %d labelled images; a tenth is held out as the test set." % (upload.name, rows)))
    return DataChoice(DataRecipe(kaggle_csv=path, kaggle_name=upload.name, kaggle_rows=rows), upload.name, rows - n_test, n_test)


def recipe_of(plan, choice):
    """The data recipe Start would train on: the data chosen here, with the sidebar's drawings."""
    return dataclasses.replace(choice.recipe, drawings_of=plan.drawings_of, drawings_weight=plan.weight)


def planned_images(plan, choice):
    """How many images the run would train on, and the caption that says so."""
    c = plan.config
    recipe = recipe_of(plan, choice)
    try:
        n = runspec.planned_images(RunSpec(c, recipe))
    except (DrawingsError, data.DataError):
        n = runspec.planned_images(RunSpec(c, dataclasses.replace(recipe, drawings_of=None)))
    parts = ["%s of the %s %s training images" % (format(n["base"], ","), format(n["base_total"], ","), plain(choice.name))]
    if n["pen"]:
        parts.append(
            "%s pen-drawn (%s digits, each drawn %d times)" % (format(n["pen"], ","), format(n["pen_digits"], ","), c.pen_digits)
        )
    if plan.drawings_of is not None:
        parts.append("%d kept drawings, each counted %d times" % (n["drawings"], plan.weight))
    caption = "Training on %s" % " + ".join(parts)
    if c.val_fraction:
        caption += "; %s of them train and %.0f%% are held out for the validation curves" % (
            format(n["trained"], ","),
            100 * c.val_fraction,
        )
    return n["trained"], caption + "; tested on %s images." % format(choice.n_test, ",")
