"""Docstring sections that several estimators share, written once.

A family's docstring says ``%(name)s`` where a section of ``DOCS`` belongs,
and the class is decorated with ``fill_doc``. ``tests/test_docs.py`` parses
every public docstring with numpydoc and checks it against the signature.
"""

import inspect
import re
import textwrap
from numbers import Real

TRAINING_PARAMETERS_DOC = """\
    epochs : int or "auto", default="auto"
        The most passes over the training data: training stops sooner when
        its loss has converged (``tol``). "auto" shows the network about
        100 000 samples: ``clip(ceil(100_000 / n_samples), 10, 200)`` epochs,
        for example 75 on 1,347 8 x 8 digits and 25 on 4,000 28 x 28 ones
        (about 27 s for ``DenseAutoencoder(30)`` on 2 cores).

    batch_size : int, default=32
        Samples per gradient step.

    optimizer : str, keras.optimizers.Optimizer class or instance, default="adam"
        The optimizer. A name or class is built with ``learning_rate`` and any
        routed ``optimizer__<name>`` parameters (e.g. ``optimizer__beta_1``); an
        instance is copied at each fit and used as it is.

    learning_rate : float, default=0.001
        Step size of the optimizer, unless ``optimizer`` is an instance or
        ``optimizer__learning_rate`` is set.

%(loss)s

    tol : float or None, default=1e-4
        Tolerance of the stopping rule, as in ``MLPRegressor``: training
        stops when the training loss (the validation loss with
        ``early_stopping``) has not improved by more than ``tol`` for more
        than ``n_iter_no_change`` epochs in a row. None trains every epoch
        (unless ``early_stopping``). With ``epochs="auto"`` on digits the
        loss still falls by more than 1e-4 an epoch at the end, so the
        default trains all of them; see :ref:`stopping`.

    early_stopping : bool or "auto", default="auto"
        Hold out ``validation_fraction`` of the training data and stop when
        its loss has not improved by more than ``tol`` for more than
        ``n_iter_no_change`` epochs, keeping the best weights. "auto" does
        so where the network starts from a solution of its own (the linear
        path of ``DenseAutoencoder`` and its subclasses, at PCA's solution:
        the best weights can be the first) and X is an array of at least
        50 rows and at most 10 million values (the split copies it), in a
        new fit; elsewhere (a warm start, ``partial_fit``, a memmap) it is
        False.

    validation_fraction : float, default=0.1
        Share of the training data held out when early stopping is on.

    n_iter_no_change : int, default=10
        Epochs in a row without an improvement of more than ``tol`` before
        training stops.

    callbacks : list of keras.callbacks.Callback, default=None
        Extra Keras callbacks for ``Model.fit`` (TensorBoard, CSVLogger, ...).
        A callback class is built at each fit with the routed
        ``callbacks__<name>`` arguments, which keeps the estimator picklable
        even for callbacks that are not (such as TensorBoard).

    verbose : int, default=0
        0 is silent; 1 shows a progress bar per epoch; 2 one line per epoch.

    random_state : int, RandomState instance or None, default=None
        Seeds weights, shuffling, dropout and corruption. The same int gives
        identical ``transform`` output on CPU; global random states are
        restored after each fit.

    warm_start : bool, default=False
        When True, ``fit`` continues training the fitted network instead of
        building a new one (architecture parameters are then not re-read).

    distribute_strategy : tf.distribute.Strategy or None, default=None
        Train data-parallel under this strategy: ``MirroredStrategy``
        (several devices of one machine), ``MultiWorkerMirroredStrategy``
        (several machines, from ``TF_CONFIG``) or ``OneDeviceStrategy``.
        The network is built and trained under its ``scope()``, one step
        per Keras call; ``transform`` stays in this process. A pickled
        estimator keeps what builds the strategy again (a
        ``StrategyRecipe``), and its next ``fit`` builds it. See the
        Scaling page of the user guide.

    **routed_params : dict
        Parameters routed as in scikeras: ``optimizer__<name>``,
        ``loss__<name>``, ``compile__<name>`` (to ``Model.compile``),
        ``fit__<name>`` (to ``Model.fit``) and ``callbacks__<name>``."""

FITTED_ATTRIBUTES_DOC = """\
    model_ : keras.Model
        The whole autoencoder, trained to reconstruct its input.

    encoder_ : keras.Model
        Input to code; shares its layers with ``model_``.

    decoder_ : keras.Model
        Code to reconstruction; shares its layers with ``model_``.

    history_ : dict of str to list of float
        Loss per epoch (``"loss"``, and ``"val_loss"`` with early stopping).

    loss_ : str or callable
        The loss the network was trained with, "auto" resolved.

    n_components_ : int
        Width of the code that ``transform`` returns.

    sample_shape_ : tuple of int
        Shape of one sample of fit's X: the layout ``predict`` and
        ``inverse_transform`` return.

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``, when X has string column names."""


RECONSTRUCTION_LOSS_DOC = """\
    loss : str or callable, default="auto"
        The reconstruction loss, as Keras names it ("mse", "mae",
        "binary_crossentropy", ...). "auto" is binary cross-entropy when the
        output activation is sigmoid and the training data lie in [0, 1]
        (pixels, MinMaxScaler's output), and "mse" otherwise: on 28 x 28
        digits cross-entropy gives a lower held-out squared error than
        training on the squared error itself. ``score`` is mean squared error
        whatever the loss."""

VARIATIONAL_LOSS_DOC = """\
    loss : {"auto", "binary_crossentropy", "mse"}, default="auto"
        The decoder's likelihood p(x | z): "binary_crossentropy" is
        Bernoulli, whose negative log is binary cross-entropy summed over the
        features; "mse" is Gaussian, of a variance per feature learned in
        training, whose negative log is the squared error over twice the
        variance plus half the log of 2 pi times it. "auto" is Bernoulli
        when the output activation is sigmoid and the training data lie in
        [0, 1] (pixels, MinMaxScaler's output), Gaussian otherwise."""

CLASSIFICATION_LOSS_DOC = """\
    loss : str or callable, default="sparse_categorical_crossentropy"
        The classification loss, as Keras names it, on integer class codes."""

# Shared docstring sections: "%(name)s" in a docstring becomes DOCS[name].
HIDDEN_LAYER_SIZES_DOC = """\
        Widths of the encoder's hidden layers, input side first; the decoder
        uses them in reverse order."""

DENSE_PARAMETERS_DOC = """\
    activation : str, default="relu"
        Activation of the hidden layers, as Keras names it.

    output_activation : str, default="auto"
        Activation of the reconstruction. "auto" is "sigmoid" when the
        training data lie in [0, 1] and "linear" otherwise.

    tied_weights : bool, default=False
        Make each decoder kernel the transpose of the matching encoder kernel.

    activity_regularization : float, default=0.0
        Strength of the L1 penalty on the code: the mean over samples of
        ``activity_regularization * sum(|code|)`` is added to the loss.

    dropout : float, default=0.0
        Dropout rate after each hidden layer, during training only.

    linear_path : bool or "auto", default="auto"
        Give each half of the network a linear map beside its layers, both
        started at PCA's solution on X and the layers' last kernels at zero:
        the code is PCA's code plus what the encoder's layers add, the
        reconstruction PCA's plus what the decoder's add (through a sigmoid
        output, nearly PCA's). Training starts where PCA ends, and with
        ``early_stopping="auto"`` keeps PCA's solution if no epoch beats it
        on held-out rows. Measured on the tables and images of
        ``benchmarks/run.py --only tables``; see :ref:`tables`. "auto" is
        True for a linear code of untied weights, False otherwise."""

DENSE_ATTRIBUTES_DOC = """\
    output_activation_ : str
        The output activation used, with "auto" resolved.

    components_ : ndarray of shape (units, `n_features_in_`)
        The first encoder layer's weights, one row per unit: what each unit
        of the first layer responds to, as ``BernoulliRBM.components_`` and
        ``NMF.components_`` are read and drawn. Unlike PCA's, the rows are
        neither orthonormal nor the code's axes: ``transform`` is not
        ``X @ components_.T``. A copy, float32."""


DOCS = {
    "training_parameters": TRAINING_PARAMETERS_DOC.replace("%(loss)s", RECONSTRUCTION_LOSS_DOC),
    "variational_training_parameters": TRAINING_PARAMETERS_DOC.replace("%(loss)s", VARIATIONAL_LOSS_DOC),
    "classifier_training_parameters": TRAINING_PARAMETERS_DOC.replace("%(loss)s", CLASSIFICATION_LOSS_DOC),
    "fitted_attributes": FITTED_ATTRIBUTES_DOC,
    "hidden_layer_sizes": HIDDEN_LAYER_SIZES_DOC,
    "dense_parameters": DENSE_PARAMETERS_DOC,
    "dense_attributes": DENSE_ATTRIBUTES_DOC,
}


def fill_doc(cls=None, **notes):
    """Put the shared sections of ``DOCS`` into a family's docstring.

    A shared section states the base's defaults; where a family's signature
    sets another number (``ContractiveAutoencoder``'s learning rate, the
    stack's ``epochs=0``), its entry is made to say the family's. ``notes``
    add a family's own sentences to the end of a shared entry, by name:
    ``@fill_doc(history_="...")``.
    """
    if cls is None:
        return lambda cls: fill_doc(cls, **notes)
    doc = cls.__doc__
    for name, text in DOCS.items():
        doc = doc.replace(f"%({name})s", text)
    for name, param in inspect.signature(cls).parameters.items():
        if isinstance(param.default, Real) and not isinstance(param.default, bool):
            entry = re.compile(rf'^(    {name} : [^\n]*default=)"?[-+.\w]+"?$', flags=re.MULTILINE)
            doc = entry.sub(rf"\g<1>{param.default!r}", doc)
    for name, note in notes.items():
        doc = _add_note(doc, name, note)
    cls.__doc__ = doc
    return cls


def _add_note(doc, name, note):
    """Append a paragraph to the description of entry ``name``."""
    entry = re.compile(
        rf"^    {re.escape(name)} : [^\n]*\n(?:(?: {{8}}[^\n]*)?\n(?= {{8}}))*(?: {{8}}[^\n]*)", re.MULTILINE
    )
    match = entry.search(doc)
    if match is None:
        raise ValueError(f"No entry {name!r} to add a note to.")
    paragraph = textwrap.fill(" ".join(note.split()), 79, initial_indent=" " * 8, subsequent_indent=" " * 8)
    return f"{doc[: match.end()]}\n\n{paragraph}{doc[match.end() :]}"
