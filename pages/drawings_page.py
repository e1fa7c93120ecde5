"""My drawings page: the drawings this session corrected on the Draw page (or everyone's, where the
server shares them), with counts per digit, delete, export (Kaggle CSV, zip of PNGs) and import."""

import streamlit as st

from nn_core import csv_import, drawings
from nn_core.data import DataError
from nn_core.drawings import DrawingsError
from nn_core.explain import a_digit
from pages._charts import digit_bars
from pages._people import drawing_store, visitor
from pages._widgets import plain, upload_box

MINE = "mine"
EVERYONE = "everyone's on this server"
PER_ROW = 6
SHOWN = 48  # newest drawings in the gallery at once
ALL_DIGITS = "all digits"


def gallery(kept, mine):
    """The newest drawings, with their label and the model's answer; each of the visitor's own
    has a delete button."""
    digit = st.selectbox(
        "Show",
        [ALL_DIGITS] + list(range(10)),
        key="gallery_digit",
        format_func=lambda d: d if d == ALL_DIGITS else "only %ds" % d,
        help="show the drawings of one digit only",
    )
    shown = [d for d in kept if digit == ALL_DIGITS or d.label == digit]
    if len(shown) > SHOWN:
        st.caption("The newest %d of %d drawings." % (SHOWN, len(shown)))
    for start in range(0, min(len(shown), SHOWN), PER_ROW):
        for column, d in zip(st.columns(PER_ROW), shown[start : start + PER_ROW]):
            if d.answer is None:
                said = "imported"
            elif d.answer == d.label:
                said = "read right"
            else:
                said = "read as %d" % d.answer
            column.image(
                d.thumbnail(), caption="%d, %s" % (d.label, said), width=112, alt="A drawing of %s, %s" % (a_digit(d.label), said)
            )
            if d.owner == mine:
                column.button(
                    "Delete",
                    key="delete-%d" % d.id,
                    icon=":material/delete:",
                    on_click=delete,
                    args=(d, mine),
                    help="delete this drawing (Undo brings it back)",
                )


def delete(drawing, mine):
    """A Delete button's callback: the drawing goes, and is kept here for Undo."""
    try:
        drawing_store().delete(drawing.id, owner=mine)
    except DrawingsError as exc:
        st.session_state.drawings_error = str(exc)
    else:
        st.session_state.deleted_drawing = drawing


def undo_delete():
    drawing = st.session_state.pop("deleted_drawing", None)
    if drawing is not None:
        try:
            drawing_store().put_back(drawing)
        except DrawingsError as exc:
            st.session_state.drawings_error = str(exc)
            st.session_state.deleted_drawing = drawing


def notices():
    """What the last click did, above everything else (not inside the part of the page it came from)."""
    if "drawings_error" in st.session_state:
        st.error(plain(st.session_state.pop("drawings_error")))
    if "deleted_drawing" in st.session_state:
        d = st.session_state.deleted_drawing
        note, undo = st.columns([4, 1], vertical_alignment="center")
        note.info("Deleted a drawing of %s." % a_digit(d.label), icon=":material/delete:")
        undo.button("Undo", key="undo_delete_drawing", icon=":material/undo:", on_click=undo_delete, help="keep it again")
    if "imported_drawings" in st.session_state:
        added, skipped = st.session_state.pop("imported_drawings")
        st.success(
            "Imported %d drawing%s.%s"
            % (
                added,
                "" if added == 1 else "s",
                ""
                if not skipped
                else " %d %s kept already and %s skipped."
                % (skipped, "was" if skipped == 1 else "were", "was" if skipped == 1 else "were"),
            )
        )


def export(kept):
    """The two downloads, each built when its button is clicked (with 20,000 drawings, building
    both took 8-10 seconds: on every visit, it would be paid by everyone who never downloads)."""
    a, b = st.columns(2)
    a.download_button(
        "Download as CSV (Kaggle format)",
        lambda: drawings.to_csv(kept),
        file_name="drawings.csv",
        mime="text/csv",
        icon=":material/download:",
        key="export_csv",
        help="label,pixel0..pixel783: one row per drawing, the 28x28 input the network saw (0-255)",
    )
    b.download_button(
        "Download the pictures (.zip of PNGs)",
        lambda: drawings.to_zip(kept),
        file_name="drawings.zip",
        mime="application/zip",
        icon=":material/folder_zip:",
        key="export_zip",
        help="each drawing as drawn, and as the 28x28 input the network saw",
    )


def import_form():
    with st.expander("Import drawings from a CSV"):
        st.caption(
            "A CSV in Kaggle's digit-recognizer format (label,pixel0..pixel783, at most %d rows and %d MB) becomes "
            "your drawings: all rows or none." % (drawings.MAX_IMPORT_ROWS, csv_import.MAX_IMPORT_BYTES // 10**6)
        )
        # A new key after each import clears the file, so that a second click cannot import it again.
        key = "import_csv_%d" % st.session_state.get("imports", 0)
        upload = upload_box("CSV file", ["csv"], key=key)
        if st.button(
            "Import",
            key="import",
            disabled=upload is None,
            icon=":material/upload:",
            help="drawings you keep already (the same digit, the same picture) are skipped",
        ):
            try:
                st.session_state.imported_drawings = drawing_store().import_csv(upload, visitor())
            except (DataError, DrawingsError) as exc:
                st.error(plain("%s was not imported: %s" % (upload.name, exc)))
                if csv_import.WHOLE_SETS in str(exc):
                    st.caption("The Train page trains on a whole data set: upload it there, under the data to train on.")
            else:
                st.session_state.imports = st.session_state.get("imports", 0) + 1
                st.rerun()


st.title("My drawings")
notices()
st.caption(
    "The drawings you told the network about on the Draw page, kept on this server. Train on them on the "
    "Train page (Data: drawings collected here) to teach a network your handwriting."
)
whose = MINE
if drawings.sharing():
    whose = (
        st.segmented_control(
            "Whose drawings",
            [MINE, EVERYONE],
            default=MINE,
            key="whose",
            help="this server shares drawings: a class can collect a data set together",
        )
        or MINE
    )
store = drawing_store()
try:
    kept = store.drawings(owner=visitor() if whose == MINE else None, with_pictures=True)
except DrawingsError as exc:
    st.error(plain(str(exc)))
    st.stop()
if store.damaged:
    st.warning("%d drawing(s) in the database are damaged (edited outside this app) and are left out." % store.damaged)
if not kept:
    st.info("No drawings yet. On the Draw page, draw a digit and say whether the network read it right.", icon=":material/draw:")
else:
    wrong = sum(d.answer is not None and d.answer != d.label for d in kept)
    a, b = st.columns(2)
    a.metric("Drawings", len(kept))
    b.metric("Read wrong by the network", wrong, help="drawings whose answer, when they were drawn, was not their label")
    counts = drawings.counts(kept)
    st.vega_lite_chart(
        spec=digit_bars(counts, "drawings", height=180),
        alt="Bar chart of the drawings kept per digit: %s." % ", ".join("%d: %d" % (d, c) for d, c in enumerate(counts)),
    )
    export(kept)
    gallery(kept, visitor())
import_form()
