"""Draw page: draw a digit (or upload a picture of one) and see what the network reads."""

import numpy as np
import pandas as pd
import streamlit as st
from PIL import Image
from streamlit_drawable_canvas import st_canvas

from nn_core.network import describe_layers
from nn_core.predict import ModelOutputError, classify
from nn_core.preprocess import ImageError, open_image
from nn_core.seed import read_seed_weights
from nn_core.storage import ModelFileError, check_name, list_models, save_model
from pages._shared import current_job, get_model, plain

TRAINING_NOW = "The network training now"
CLOSE = 0.15  # a second answer this probable is shown too


def pick_model():
    """The model picker: shipped and saved models, and the network this user is training."""
    options = list_models()
    job = current_job()
    if job is not None and job.status == "running":
        options.append(TRAINING_NOW)
    if not options:
        st.error("No model found in the weights folder (weights/, or the folder NN_CORE_WEIGHTS_DIR names). Train one on the Train page.")
        st.stop()
    name = st.selectbox("Model", options, key="model_name", help="Models saved from the Train page appear here.")
    if name == TRAINING_NOW:
        epochs = len(job.history)
        st.caption("Training: %s after %d epoch(s). Its answers improve as it learns." % (job.status, epochs))
        return job.model()
    try:
        model = get_model(name)
    except (ModelFileError, OSError) as exc:
        st.error(plain("Could not load model %r: %s" % (name, exc)))
        st.stop()
    acc = model.meta.get("test_accuracy")
    arch = "-".join(map(str, model.layer_data["Dim"]))
    st.caption("%s network: %s%s" % (arch, describe_layers(model.layer_data),
                                     "" if acc is None else "; %.2f%% right on the MNIST test set" % (100 * acc)))
    return model


def show_prediction(prediction, where):
    """The answer, its confidence, the ten probabilities, and what the network saw."""
    with where:
        if prediction is None:
            st.info("Draw a digit in the box: the network will read it as you draw.", icon=":material/draw:")
            return
        left, right = st.columns([1, 1])
        left.metric("Prediction", prediction.digit)
        left.metric("Confidence", "%.1f%%" % (100 * prediction.confidence),
                    help="the network's softmax output for this digit: how strongly it leans to this answer among the "
                         "ten, not a guarantee that it is right")
        second, p = prediction.runner_up
        if p >= CLOSE:
            left.caption("Or perhaps a %d (%.0f%%)" % (second, 100 * p))
        seen = Image.fromarray((prediction.image * 255).astype(np.uint8)).resize((140, 140), Image.NEAREST)
        right.image(seen, caption="What the network sees (28x28)")
        chart = pd.DataFrame({"probability": prediction.probabilities.astype(float)}, index=pd.Index(range(len(prediction.probabilities)), name="digit"))
        st.bar_chart(chart, y="probability", height=220)


st.title("Draw a digit")
model = pick_model()

canvas_col, answer_col = st.columns([1, 1], gap="large")
with canvas_col:
    stroke = st.slider("Brush width", 8, 40, 20, key="stroke_width")
    if "canvas_key" not in st.session_state:
        st.session_state.canvas_key = 0
    drawing = st_canvas(
        stroke_width=stroke,
        stroke_color="#FFFFFF",
        background_color="#000000",
        width=280,
        height=280,
        drawing_mode="freedraw",
        return_image_data=True,
        key="canvas-%d" % st.session_state.canvas_key,
    )
    if st.button("Clear", icon=":material/delete:", help="Start again with an empty canvas (the toolbar under the canvas has undo)."):
        st.session_state.canvas_key += 1
        st.rerun()

def answer(picture):
    """``classify``, with a network whose arithmetic overflows reported instead of shown as NaN."""
    try:
        return classify(model, picture)
    except ModelOutputError as exc:
        st.error(str(exc))
        st.stop()


def decoded(upload):
    """The uploaded picture, decoded once per upload (not again on every stroke's rerun)."""
    cache = st.session_state.setdefault("decoded_upload", {})
    if upload.file_id not in cache:
        cache.clear()
        try:
            cache[upload.file_id] = open_image(upload.getvalue())
        except ImageError as exc:
            cache[upload.file_id] = exc
    return cache[upload.file_id]


picture = drawing.image_data if drawing is not None else None
show_prediction(answer(picture) if picture is not None else None, answer_col)

st.divider()
st.subheader("Or upload a photo or scan of a digit")
upload = st.file_uploader("PNG or JPG", type=["png", "jpg", "jpeg"], key="upload")
if upload is not None:
    image = decoded(upload)
    if isinstance(image, ImageError):
        st.error("%s could not be read: %s" % (upload.name, image))
    else:
        photo_col, photo_answer = st.columns([1, 1], gap="large")
        photo_col.image(image, caption=upload.name, width=280)
        prediction = answer(image)
        if prediction is None:
            photo_answer.warning("No digit found in this picture: it looks blank.")
        else:
            show_prediction(prediction, photo_answer)

with st.expander("Import weights saved by the original NumPy design"):
    st.caption("The original design pickled its params (W1, b1, ...) into a .json file. Only NumPy arrays are "
               "read from it; a file that asks for anything else is refused.")
    seed_file = st.file_uploader("Pickled weights", type=["json", "pkl", "pickle"], key="seed_file")
    seed_name = st.text_input("Save as", value="original-design", key="seed_name")
    if st.button("Import", key="seed_import", disabled=seed_file is None):
        try:
            params, layer_data = read_seed_weights(seed_file.getvalue())
            path = save_model(check_name(seed_name), params, layer_data, {"name": seed_name, "data": "imported weights of the original design"}, overwrite=False)
        except (ModelFileError, ValueError, OSError) as exc:
            st.error(plain("Not imported: %s" % exc))
        else:
            st.session_state.imported = path.stem
            st.rerun()  # so that the Model list above offers it
    if "imported" in st.session_state:
        st.success("Imported as %s: pick it in the Model list above." % st.session_state.pop("imported"))
