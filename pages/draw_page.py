"""Draw page: draw a digit (or upload a picture of one), see what the network reads, and tell it
when it is wrong: the corrected drawing is kept to train on (My drawings, Train)."""

import hashlib

import numpy as np
import streamlit as st
from PIL import Image
from streamlit_drawable_canvas import st_canvas

from nn_core import explain
from nn_core.drawings import DrawingsError
from nn_core.models import model_store
from nn_core.network import describe_layers
from nn_core.pickled import read_pickled_weights
from nn_core.predict import ModelOutputError, classify
from nn_core.preprocess import ImageError, open_image
from nn_core.storage import ModelFileError, check_name
from pages._charts import digit_bars
from pages._models import choose_model, is_own_run, model_options, why_not_saved
from pages._network import WIDE_ONLY, compact_view, network_view
from pages._people import drawing_store, visitor
from pages._widgets import keep, once_per_upload, plain, remember, upload_box

DRAW, UPLOAD = "Draw", "Upload a picture"
# The canvas's toolbar lives in the component's shadow root, out of reach of the page's CSS. This
# script gives each canvas a style that hides its "update the app with this drawing" button (the
# app already follows every stroke), its edit toggle and its reset (the Clear button does that),
# keeping undo and redo.
TOOLBAR = """<script>
(() => {
  if (window.digitStudioToolbar) return;
  window.digitStudioToolbar = true;
  const css = 'button[title="Update the app with this drawing"], button[title="Edit"], button[title="Reset canvas & history"], ' +
              '.dc-toolbar-separator { display: none !important; }';
  const patch = () => document.querySelectorAll("*").forEach(host => {
    const root = host.shadowRoot;
    // Every shadow root gets the style (its rules only match the canvas's toolbar): the canvas may
    // build its toolbar after its host appears, and changes inside a shadow root are not seen here.
    if (root && !root.querySelector("style[data-toolbar]")) {
      const style = document.createElement("style");
      style.dataset.toolbar = "";
      style.textContent = css;
      root.appendChild(style);
    }
  });
  let timer = null;
  const soon = () => { patch(); setTimeout(patch, 500); };  // and once more, for a shadow root attached a moment later
  new MutationObserver(() => { clearTimeout(timer); timer = setTimeout(soon, 50); }).observe(document.body, {childList: true, subtree: true});
  patch();
})();
</script>"""
# The answer's buttons are touch targets of 44x44 pixels at least (the usual size for a finger),
# and the ten digits sit in two rows of five rather than nine and one alone.
TOUCH = """<style>
[class*="st-key-fix-"] [role="radiogroup"] { display: grid; grid-template-columns: repeat(5, 52px); gap: 8px; }
[class*="st-key-fix-"] [role="radiogroup"] button, [class*="st-key-right-"] button, [class*="st-key-undo-"] button {
  min-width: 44px; min-height: 44px; justify-content: center; }
</style>"""
CLOSE = 0.15  # a second answer this probable is shown too
CANVAS = 280
THICK_HINT = (
    ":material/format_size: The lines are thick for the size of this digit, and the network gets more "
    "of these wrong than of thin ones. Draw it bigger, or pick a thinner brush."
)


def pick_model():
    """The model picker (saved models and the network this visitor is training), with what the
    model is in words."""
    name, model = choose_model("model_name", "Models saved from the Train page appear here, and the network you are training.")
    if is_own_run(name):
        return model
    acc = model.meta.get("test_accuracy")
    arch = "-".join(map(str, model.layer_data["Dim"]))
    st.caption(
        "%s network: %s%s"
        % (arch, describe_layers(model.layer_data), "" if acc is None else "; %.2f%% right on the MNIST test set" % (100 * acc))
    )
    return model


def show_prediction(model, prediction, where, picture=None, source="drawn"):
    """The answer, its confidence, the ten probabilities, what the network saw, and the buttons
    that tell it whether it was right (``picture`` is what is kept with the correction)."""
    with where:
        if prediction is None:
            if source == "uploaded":
                st.info("Upload a photo or scan of a digit: the network will read it.", icon=":material/upload:")
            else:
                st.info("Draw a digit in the box: the network will read it as you draw.", icon=":material/draw:")
            return
        left, right = st.columns([1, 1])
        left.metric("Prediction", prediction.digit)
        left.metric(
            "Confidence",
            "%.1f%%" % (100 * prediction.confidence),
            help="the network's softmax output for this digit: how strongly it leans to this answer among the "
            "ten, not a guarantee that it is right",
        )
        second, p = prediction.runner_up
        if p >= CLOSE:
            left.caption("Or perhaps %s (%.0f%%)" % (explain.a_digit(second), 100 * p))
        if prediction.thick_strokes:
            left.caption(THICK_HINT)
        seen = Image.fromarray((prediction.image * 255).astype(np.uint8)).resize((140, 140), Image.NEAREST)
        right.image(
            seen,
            caption="What the network sees (28x28)",
            alt="The 28x28 picture the network reads, %s: %s."
            % (explain.a_digit(prediction.digit), explain.picture_in_words(prediction.image)),
        )
        correction(prediction, picture, source)
        if st.session_state.get("network", True):  # (on a phone; on a wide screen it is under the canvas)
            compact_view(model, prediction, network_path(model, prediction), "narrow")
        order = np.argsort(-prediction.probabilities)[:3]
        st.vega_lite_chart(
            spec=digit_bars(prediction.probabilities, "probability", percent=True, height=220),
            alt="Bar chart of the network's probability for each digit: %s."
            % ", ".join("%d %.0f%%" % (d, 100 * prediction.probabilities[d]) for d in order),
        )
        # A toggle, not an expander: an expander's contents are computed on every stroke even
        # when it is closed; this is computed only when asked for.
        if st.toggle("Why this answer?", key="why", help="which parts of the drawing pushed the network to this answer"):
            why(model, prediction)


def network_path(model, prediction):
    """``explain.network_path`` for this drawing, once per page run (the two network views share it)."""
    cache = st.session_state.get("network_path")
    if cache is None or cache[0] is not prediction:
        cache = (prediction, explain.network_path(model, prediction.image, prediction.digit))
        st.session_state.network_path = cache
    return cache[1]


def why(model, prediction):
    """What pushed the network to its answer: the evidence drawn over the digit, and in words
    (which neurons fired: the network view under the answer)."""
    digit = st.selectbox(
        "Explain the score of",
        range(10),
        index=prediction.digit,
        key="why_digit",
        format_func=lambda d: "%d (the answer)" % d if d == prediction.digit else str(d),
        help="the digit whose score the picture explains: the answer, or another to see what speaks against it",
    )
    grad = explain.smooth_saliency(model, prediction.image, digit)
    left, right = st.columns(2)
    left.image(
        Image.fromarray((prediction.image * 255).astype(np.uint8)).resize((140, 140), Image.NEAREST),
        caption="the input",
        width=140,
        alt="The 28x28 input: %s." % explain.picture_in_words(prediction.image),
    )
    right.image(
        explain.evidence_overlay(prediction.image, grad),
        caption="over it: ink here raises (red) or lowers (blue) %d" % digit,
        width=140,
        alt="The input coloured by what raises (red) or lowers (blue) the score of %d: %s"
        % (digit, explain.reading(prediction.image, grad, digit)),
    )
    st.markdown(explain.reading(prediction.image, grad, digit))
    st.caption(
        "The colours are how the network's score for %d changes with the ink of each part of the picture (its "
        "gradient, averaged over slightly noisy copies of the drawing so that regions show, not single pixels). "
        "An empty part can count too: where blue has no ink, leaving it empty is what speaks for %d." % (digit, digit)
    )


def as_picture(picture):
    """What is kept of a drawing as drawn: the canvas (strokes over its black background), or an
    upload shrunk to fit the canvas's size; grayscale."""
    if isinstance(picture, np.ndarray):
        strokes = Image.fromarray(picture.astype(np.uint8), "RGBA" if picture.shape[-1] == 4 else "RGB").convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", strokes.size, (0, 0, 0, 255)), strokes).convert("L")
    image = picture.convert("L")
    image.thumbnail((CANVAS, CANVAS), Image.LANCZOS)
    return image


def keep_drawing(tag, label, prediction, picture, source):
    """Store the drawing with its label (a button's callback: one click, one attempt)."""
    if label is None:
        return
    try:
        drawing_id = drawing_store().add(
            visitor(),
            label,
            prediction.image,
            picture=None if picture is None else as_picture(picture),
            answer=prediction.digit,
            probabilities=prediction.probabilities,
            model=st.session_state.get("model_name"),
            source=source,
        )
    except (DrawingsError, ValueError) as exc:
        st.session_state.setdefault("keep_failed", {})[tag] = str(exc)
        st.session_state["fix-" + tag] = None  # so that a click on the same digit tries again
    else:
        st.session_state.setdefault("kept", {})[tag] = (drawing_id, label)
        st.session_state.get("keep_failed", {}).pop(tag, None)


def correction(prediction, picture, source):
    """Under an answer: one click says that it is right, or which digit it really is. Either
    way the drawing is kept (My drawings) to train on."""
    tag = source + "-" + hashlib.sha1(prediction.image.tobytes()).hexdigest()[:16]
    kept = st.session_state.setdefault("kept", {})
    if tag in kept:
        drawing_id, label = kept[tag]
        st.success(
            "Kept as %s, with what the network answered: see My drawings. Train on it on the Train page."
            % explain.a_digit(label),
            icon=":material/bookmark_added:",
        )
        if st.button("Undo", key="undo-" + tag, icon=":material/undo:", help="forget this drawing (delete it from My drawings)"):
            try:
                drawing_store().delete(drawing_id, owner=visitor())
            except DrawingsError as exc:
                st.error(plain(str(exc)))
            else:
                del kept[tag]
                st.session_state.pop("fix-" + tag, None)
                st.rerun()
        return
    st.markdown("**Is it right?** Your answer keeps the drawing, so that the network can learn from it.")
    st.button(
        "Yes, it is %s" % explain.a_digit(prediction.digit),
        key="right-" + tag,
        icon=":material/check:",
        on_click=keep_drawing,
        args=(tag, prediction.digit, prediction, picture, source),
        help="keep the drawing with this label",
    )
    st.pills(
        "No, it is a",
        [d for d in range(10) if d != prediction.digit],  # "no, it is the digit you said" would keep it as right
        key="fix-" + tag,
        on_change=lambda: keep_drawing(tag, st.session_state.get("fix-" + tag), prediction, picture, source),
        help="click the digit you drew: the drawing is kept with that label",
    )
    failed = st.session_state.get("keep_failed", {}).get(tag)
    if failed:
        st.error(plain("Not kept: %s Click again to retry." % failed))


def answer(model, picture):
    """``classify``, with a network whose arithmetic overflows reported instead of shown as NaN."""
    try:
        return classify(model, picture)
    except ModelOutputError as exc:
        st.error(str(exc))
        st.stop()


def canvas_input():
    """The canvas, then its brush and its Clear button under it (so that on a phone the canvas
    starts high on the screen); returns what is drawn (RGBA array) or None."""
    canvas_area, tools = st.container(), st.container()
    with tools.container(horizontal=True):  # one row, so that on a phone the answer follows the canvas closely
        if st.button(
            "Clear",
            icon=":material/delete:",
            help="start again with an empty canvas (undo and redo are above the canvas when the pointer is on it)",
        ):
            st.session_state.canvas_key = st.session_state.get("canvas_key", 0) + 1
            st.rerun()
        with st.popover("Brush", icon=":material/brush:", help="how thick the pen is"):
            stroke = st.slider("Brush width", 8, 40, 20, key="stroke_width", help="how thick the pen is, in canvas pixels")
    if "canvas_key" not in st.session_state:
        st.session_state.canvas_key = 0
    with canvas_area:
        drawing = st_canvas(
            stroke_width=stroke,
            stroke_color="#FFFFFF",
            background_color="#000000",
            width=CANVAS,
            height=CANVAS,
            drawing_mode="freedraw",
            return_image_data=True,
            key="canvas-%d" % st.session_state.canvas_key,
        )
    return drawing.image_data if drawing is not None else None


def upload_input():
    """A picture to upload, shown where the canvas is; returns it (a PIL image) or None."""
    upload = upload_box("A photo or scan of one digit (PNG or JPG)", ["png", "jpg", "jpeg"], key="upload")
    if upload is None:
        return None
    image = once_per_upload(upload, "decoded_upload", lambda u: open_image(u.getvalue()), ImageError)
    if isinstance(image, ImageError):
        st.error(plain("%s could not be read: %s" % (upload.name, image)))
        return None
    st.image(fitted(image), caption=plain(upload.name), alt="The uploaded picture, %s" % upload.name)
    return image


def fitted(image):
    """The picture scaled to fit the canvas's square, never thinner than one pixel (a picture
    281 pixels wide and 1 high is still shown, as a line)."""
    scale = min(CANVAS / image.width, CANVAS / image.height)
    return image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))))


st.title("Draw a digit")
st.caption(
    "A neural network written from scratch in NumPy reads your digit as you draw, and you can tell it when it is "
    "wrong. **Train** a network of your own and watch it learn; **My drawings** keeps the digits you corrected."
)
remember({"model_name": model_options(), "stroke_width": None, "input_mode": None})

# On a phone the columns stack: the canvas comes first, then the answer right under it, then the
# model picker (filled first, as the answer needs the model, but shown after it).
canvas_col, answer_col = st.columns(
    [1, 1], gap="small"
)  # (small: on a phone, where they stack, the answer stays close to the canvas)
answer_area, model_area = answer_col.container(), answer_col.container()
with model_area:
    model = pick_model()
with canvas_col:
    mode = st.radio(
        "Input",
        [DRAW, UPLOAD],
        key="input_mode",
        horizontal=True,
        label_visibility="collapsed",
        help="draw with the mouse (or a finger), or upload a picture of a digit",
    )
    picture = upload_input() if mode == UPLOAD else canvas_input()
prediction = answer(model, picture) if picture is not None else None
if prediction is not None:
    with canvas_col:
        # The compact network view fills the space under the canvas on a wide screen, so that it
        # starts on the first screen (a phone shows its copy under the answer: _network.WIDE_ONLY).
        if st.toggle(
            "Your digit through the network",
            value=True,
            key="network",
            help="the most active neurons of each layer, lit by this digit and updated with every stroke (on a wide "
            "screen, every neuron further down)",
        ):
            compact_view(model, prediction, network_path(model, prediction), "wide")
if mode == UPLOAD and picture is not None and prediction is None:
    answer_area.warning("No digit found in this picture: it looks blank.")
else:
    show_prediction(model, prediction, answer_area, picture, "uploaded" if mode == UPLOAD else "drawn")
if prediction is not None and st.session_state.get("network", True):
    network_view(model, prediction, network_path(model, prediction))
keep(["model_name", "stroke_width", "input_mode"])

with st.expander("Import weights saved by the original NumPy design"):
    st.caption(
        "The original design pickled its params (W1, b1, ...) into a .json file. Only NumPy arrays are "
        "read from it; a file that asks for anything else is refused."
    )
    seed_file = upload_box("Pickled weights", ["json", "pkl", "pickle"], key="seed_file")
    seed_name = st.text_input("Save as", value="original-design", key="seed_name")
    if st.button("Import", key="seed_import", disabled=seed_file is None):
        try:
            params, layer_data = read_pickled_weights(seed_file.getvalue())
            saved = model_store().save(
                check_name(seed_name),
                params,
                layer_data,
                {"name": seed_name, "data": "imported weights of the original design", "owner": visitor()},
            )
        except (ModelFileError, ValueError, OSError) as exc:
            st.error(plain("Not imported: %s" % why_not_saved(exc)))
        else:
            st.session_state.imported = saved
            st.rerun()  # so that the Model list above offers it
    if "imported" in st.session_state:
        st.success("Imported as %s: pick it in the Model list above." % plain(st.session_state.pop("imported")))

st.html(TOOLBAR, unsafe_allow_javascript=True)
st.html(TOUCH)
st.html(WIDE_ONLY)
