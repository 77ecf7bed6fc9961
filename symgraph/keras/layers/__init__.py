"""``keras.layers``: every layer class, and the functional merge spellings."""

# ruff: noqa: F401

from symgraph.keras.layers.conv import Conv1D, Conv2D, Convolution1D, Convolution2D
from symgraph.keras.layers.core import (
    Activation,
    Dense,
    Dropout,
    Embedding,
    Flatten,
    Input,
    InputLayer,
    Lambda,
    LeakyReLU,
    Permute,
    ReLU,
    RepeatVector,
    Reshape,
    Softmax,
)
from symgraph.keras.layers.input_spec import InputSpec
from symgraph.keras.layers.keras_tensor import KerasTensor
from symgraph.keras.layers.layer import Layer
from symgraph.keras.layers.merging import (
    Add,
    Average,
    Concatenate,
    Dot,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
    add,
    average,
    concatenate,
    dot,
    maximum,
    merge,
    minimum,
    multiply,
    subtract,
)
from symgraph.keras.layers.normalization import BatchNormalization, LayerNormalization
from symgraph.keras.layers.pooling import (
    AveragePooling1D,
    AveragePooling2D,
    AvgPool1D,
    AvgPool2D,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalAvgPool2D,
    GlobalMaxPool2D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    MaxPool1D,
    MaxPool2D,
    MaxPooling1D,
    MaxPooling2D,
)
from symgraph.keras.layers.preprocessing import (
    CenterCrop,
    Normalization,
    RandomBrightness,
    RandomContrast,
    RandomFlip,
    RandomRotation,
    RandomTranslation,
    RandomZoom,
    Resizing,
)
from symgraph.keras.layers.rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, SimpleRNN, SimpleRNNCell
from symgraph.keras.layers.wrappers import Bidirectional, Masking, Rescaling, TimeDistributed
