"""Fine-tuning from the app: the settings, Start, the running job's progress (read from
its folder every 2 s, so a refreshed page finds it again), Cancel, and the versions."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from emotion_core.finetune import FinetuneSettings
from emotion_core.finetune_jobs import FinetuneBusy, FinetuneJobs, JobStatus
from emotion_core.model_charts import finetune_table
from emotion_core.model_versions import delete_version, list_versions, model_label
from emotion_core.training_faces import TrainingDataError, check_enough
from ui.resources import fer2013_dir, finetune_jobs, models_dir, training_dir

MESSAGE_KEY = "finetune_message"
PHASES = {
    "starting": "Starting",
    "checking": "Checking the saved faces",
    "preparing": "Preparing the training data",
    "training": "Training",
    "measuring": "Measuring before and after",
    "publishing": "Publishing the new version",
}


def settings_form(fer_present: bool) -> FinetuneSettings:
    """The user's choices for the next fine-tune."""
    d = FinetuneSettings()
    cols = st.columns(4)
    epochs = cols[0].number_input("Epochs", 1, 30, d.epochs, key="ft_epochs")
    rehearsal = cols[1].number_input(
        "FER2013 rehearsal faces",
        0,
        10_000,
        d.rehearsal_faces if fer_present else 0,
        500,
        key="ft_rehearsal",
        disabled=not fer_present,
        help="FER2013 training faces mixed in so the model does not forget what it knew.",
    )
    holdout = cols[2].slider(
        "Held out for validation",
        0.1,
        0.5,
        d.holdout_fraction,
        0.05,
        key="ft_holdout",
        help="Share of each emotion's saved faces.",
    )
    limit = cols[3].number_input(
        "PublicTest faces (0 = all)",
        0,
        3589,
        d.publictest_limit,
        500,
        key="ft_publictest",
        help="Measured before and after; fewer is quicker but less precise.",
    )
    return FinetuneSettings(
        epochs=int(epochs),
        rehearsal_faces=int(rehearsal) if fer_present else 0,
        holdout_fraction=float(holdout),
        publictest_limit=int(limit),
    )


def _start(jobs: FinetuneJobs, parent: Path, settings: FinetuneSettings) -> None:
    try:
        jobs.start(parent, training_dir(), models_dir(), settings, fer2013_dir())
    except FinetuneBusy as exc:
        st.session_state[MESSAGE_KEY] = ("warning", str(exc))
    except TrainingDataError as exc:
        st.session_state[MESSAGE_KEY] = ("error", str(exc))


def _cancel(jobs: FinetuneJobs, job_id: str) -> None:
    if not jobs.cancel(job_id):
        st.session_state[MESSAGE_KEY] = ("info", "That fine-tune has already ended.")


def start_panel(parent: Path, counts: dict[str, int]) -> None:
    """Settings and the Start button, with every reason not to start said up front."""
    fer = fer2013_dir()
    fer_present = (fer / "train").is_dir()
    if not fer_present:
        st.warning(
            f"FER2013 was not found at `{fer}`: the fine-tune will use no rehearsal faces "
            "(it may forget part of what it knew) and cannot measure PublicTest; the new "
            "version's card will say so."
        )
    settings = settings_form(fer_present)
    st.caption(f"Starts from the model chosen in the sidebar: **{model_label(parent)}**.")
    problem = None
    try:
        check_enough(counts, settings.min_per_emotion)
    except TrainingDataError as exc:
        problem = str(exc)
    if problem:
        st.info(problem)
    st.button(
        "Start fine-tune",
        type="primary",
        disabled=problem is not None,
        key="ft_start",
        on_click=_start,
        args=(finetune_jobs(), parent, settings),
        icon=":material/model_training:",
    )


def show_job(jobs: FinetuneJobs, job: JobStatus) -> None:
    """The job's phase, epochs and validation accuracy so far, and Cancel."""
    if job.running:
        phase = PHASES.get(job.phase, job.phase)
        done = len(job.epochs)
        if job.phase == "training" and job.epochs_total:
            st.progress(
                min(done / job.epochs_total, 1.0),
                f"Training: epoch {done} of {job.epochs_total} done",
            )
        else:
            st.info(f"Fine-tune {job.job_id}: {phase}…")
        if job.cancel_requested:
            st.caption("Cancelling…")
        else:
            st.button(
                "Cancel fine-tune",
                key="ft_cancel",
                on_click=_cancel,
                args=(jobs, job.job_id),
                icon=":material/cancel:",
            )
    elif job.phase == "done":
        st.success(
            f"Fine-tune {job.job_id} made **{job.version}**: choose it in the sidebar's "
            "Model list; the Model page shows its before/after figures."
        )
    elif job.phase == "cancelled":
        st.info(f"Fine-tune {job.job_id} was cancelled; no version was made.")
    else:
        st.error(f"Fine-tune {job.job_id} failed: {job.error}")
        tail = jobs.output_tail(job.job_id)
        if tail:
            with st.expander("Output of the job"):
                st.code(tail, language=None)
    if job.epochs:
        table = pd.DataFrame(job.epochs)
        cols = [c for c in ("epoch", "accuracy", "val_accuracy", "loss", "val_loss") if c in table]
        st.dataframe(
            table[cols].rename(columns={"val_accuracy": "held-out accuracy"}), hide_index=True
        )


@st.fragment(run_every=2.0)
def running_job(job_id: str) -> None:
    """Re-read the running job from disk every 2 s; when it ends, rerun the whole page
    (its result, the Start panel and the versions list change)."""
    jobs = finetune_jobs()
    job = jobs.status(job_id)
    if not job.running:
        st.rerun()
    show_job(jobs, job)


def job_panel(parent: Path, counts: dict[str, int]) -> None:
    """The running job (any session's: it is found on disk), else the last job's result
    and Start. Only a running job refreshes itself."""
    jobs = finetune_jobs()
    message = st.session_state.pop(MESSAGE_KEY, None)
    if message:
        getattr(st, message[0])(message[1])
    job = jobs.latest()
    if job is not None and job.running:
        running_job(job.job_id)
        return
    if job is not None:
        show_job(jobs, job)
    start_panel(parent, counts)


def versions_panel() -> None:
    """Every fine-tuned version with its before/after figures, and Delete."""
    versions = list_versions(models_dir())
    if not versions:
        st.caption(f"No fine-tuned versions yet (they are kept in `{models_dir()}`).")
        return
    for version in versions:
        section = version.card["fine_tune"]
        with st.expander(
            f"{version.name}: from {section['parent']['version']} "
            f"({section['parent']['file']}), {section['created_at']}"
        ):
            st.dataframe(finetune_table(section), hide_index=True)
            st.button(
                "Delete this version",
                key=f"delete_{version.name}",
                on_click=delete_version,
                args=(models_dir(), version.name),
            )
