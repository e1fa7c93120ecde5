"""Draw page: draw a digit (or upload a picture of one) and see what the network reads."""

import numpy as np
import pandas as pd
import streamlit as st
from PIL import Image
from streamlit_drawable_canvas import st_canvas

from nn_core.network import describe_layers
from nn_core.predict import classify
from nn_core.preprocess import ImageError, open_image
from nn_core.storage import ModelFileError, list_models
from pages._shared import current_job, get_model

TRAINING_NOW = "The network training now"


def pick_model():
    """The model picker: shipped and saved models, and the network this user is training."""
    options = list_models()
    job = current_job()
    if job is not None and job.running:
        options.append(TRAINING_NOW)
    if not options:
        st.error("No model found in weights/. Train one on the Train page.")
        st.stop()
    name = st.selectbox("Model", options, key="model_name", help="Models saved from the Train page appear here.")
    if name == TRAINING_NOW:
        epochs = len(job.history)
        st.caption("Training: %s after %d epoch(s). Its answers improve as it learns." % (job.status, epochs))
        return job.model()
    try:
        model = get_model(name)
    except (ModelFileError, OSError) as exc:
        st.error("Could not load model %r: %s" % (name, exc))
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
        left.metric("Confidence", "%.1f%%" % (100 * prediction.confidence))
        seen = Image.fromarray((prediction.image * 255).astype(np.uint8)).resize((140, 140), Image.NEAREST)
        right.image(seen, caption="What the network sees (28x28)")
        chart = pd.DataFrame({"probability": prediction.probabilities.astype(float)}, index=pd.Index(range(10), name="digit"))
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

picture = drawing.image_data if drawing is not None else None
show_prediction(classify(model, picture) if picture is not None else None, answer_col)

st.divider()
st.subheader("Or upload a photo or scan of a digit")
upload = st.file_uploader("PNG or JPG", type=["png", "jpg", "jpeg"], key="upload")
if upload is not None:
    try:
        image = open_image(upload.getvalue())
    except ImageError as exc:
        st.error("%s could not be read: %s" % (upload.name, exc))
    else:
        photo_col, photo_answer = st.columns([1, 1], gap="large")
        photo_col.image(image, caption=upload.name, width=280)
        prediction = classify(model, image)
        if prediction is None:
            photo_answer.warning("No digit found in this picture: it looks blank.")
        else:
            show_prediction(prediction, photo_answer)
