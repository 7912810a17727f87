"""General ML vocabulary for text analysis: common abbreviations with their long forms, and stopwords."""

from __future__ import annotations

# Widely used ML abbreviations, each with its long forms (the first is the one an abbreviation
# expands to). A text that spells out any long form counts as using the abbreviation, and the other
# way round. Ambiguous short forms ("AR": autoregressive or augmented reality?) are left out.
ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    # language
    "llm": ("large language model",),
    "lm": ("language model",),
    "mllm": ("multimodal large language model", "multi-modal large language model"),
    "slm": ("small language model",),
    "lrm": ("large reasoning model",),
    "nlp": ("natural language processing",),
    "nlu": ("natural language understanding",),
    "nlg": ("natural language generation",),
    "nli": ("natural language inference",),
    "qa": ("question answering",),
    "vqa": ("visual question answering",),
    "ner": ("named entity recognition",),
    "mt": ("machine translation",),
    "nmt": ("neural machine translation",),
    "rag": ("retrieval-augmented generation", "retrieval augmented generation"),
    "kg": ("knowledge graph",),
    "cot": ("chain of thought", "chain-of-thought"),
    "icl": ("in-context learning",),
    "ocr": ("optical character recognition",),
    # vision and graphics
    "cv": ("computer vision",),
    "vlm": ("vision-language model", "visual language model", "vision language model"),
    "lvlm": ("large vision-language model",),
    "vla": ("vision-language-action model", "vision language action model"),
    "vit": ("vision transformer",),
    "cnn": ("convolutional neural network",),
    "gan": ("generative adversarial network",),
    "vae": ("variational autoencoder", "variational auto-encoder"),
    "nerf": ("neural radiance field",),
    "3dgs": ("3D Gaussian splatting",),
    "sdf": ("signed distance function", "signed distance field"),
    "t2i": ("text-to-image",),
    "t2v": ("text-to-video",),
    "i2v": ("image-to-video",),
    "slam": ("simultaneous localization and mapping", "simultaneous localisation and mapping"),
    "sr": ("super-resolution",),
    "vr": ("virtual reality",),
    "mri": ("magnetic resonance imaging",),
    # speech and audio
    "asr": ("automatic speech recognition",),
    "tts": ("text-to-speech",),
    "ser": ("speech emotion recognition",),
    # learning methods
    "ai": ("artificial intelligence",),
    "agi": ("artificial general intelligence",),
    "ml": ("machine learning",),
    "dl": ("deep learning",),
    "rl": ("reinforcement learning",),
    "drl": ("deep reinforcement learning",),
    "marl": ("multi-agent reinforcement learning",),
    "rlhf": ("reinforcement learning from human feedback",),
    "rlvr": (
        "reinforcement learning with verifiable rewards",
        "reinforcement learning from verifiable rewards",
    ),
    "il": ("imitation learning",),
    "ssl": ("self-supervised learning",),
    "fl": ("federated learning",),
    "sft": ("supervised fine-tuning", "supervised finetuning"),
    "peft": ("parameter-efficient fine-tuning",),
    "lora": ("low-rank adaptation",),
    "dpo": ("direct preference optimization", "direct preference optimisation"),
    "ppo": ("proximal policy optimization", "proximal policy optimisation"),
    "grpo": ("group relative policy optimization", "group relative policy optimisation"),
    "kd": ("knowledge distillation",),
    "nas": ("neural architecture search",),
    "moe": ("mixture of experts", "mixture-of-experts"),
    "gnn": ("graph neural network",),
    "rnn": ("recurrent neural network",),
    "lstm": ("long short-term memory",),
    "mlp": ("multilayer perceptron", "multi-layer perceptron"),
    "sae": ("sparse autoencoder", "sparse auto-encoder"),
    "mdp": ("markov decision process",),
    "mcts": ("monte carlo tree search",),
    "mpc": ("model predictive control",),
    "ood": ("out-of-distribution",),
    "prm": ("process reward model",),
    "tta": ("test-time adaptation",),
    "bo": ("bayesian optimization", "bayesian optimisation"),
    # systems, people and products
    "hci": ("human-computer interaction",),
    "hri": ("human-robot interaction",),
    "gui": ("graphical user interface",),
    "ui": ("user interface",),
    "mas": ("multi-agent system",),
    "aigc": ("ai-generated content",),
    "recsys": ("recommender system",),
}

# Abbreviations that are also English words: they count as abbreviations only when written with
# a capital letter ("RAG", not "rag").
CAPITALS_ONLY = frozenset({"rag", "slam", "cot", "nas", "mas", "kg", "il", "fl", "bo", "sr", "ser", "ui"})

# Function words that carry no topic; a small general English list, kept as text to stay readable.
_STOPWORD_TEXT = """
a about above after again against all also am an and any are as at be because been before being
below between both but by can could did do does doing down during each either etc few for from
further had has have having he her here hers him his how i if in into is it its itself just me
more most my no nor not now of off on once only or other our ours out over own same she should
so some such than that the their theirs them then there these they this those through to too
under until up upon very via vs was we were what when where which while who whom why will with
within without would you your yours s t
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())

# Set phrases of academic writing whose words say nothing of a paper's subject, read as stopwords
# however they are written ("state-of-the-art", "state of the art"): a third of abstracts claim
# state-of-the-art results, which matched the topics "art" and "state space models".
# Only in papers' text: a reader who types "plug-and-play" or "off-the-shelf models" means it.
IDIOMS = ("state of the art", "off the shelf", "out of the box", "up to date", "on the fly")

# Words that join items of a list: a phrase never spans one ("rendering and 3D" is no phrase).
CONJUNCTIONS = frozenset({"and", "or", "nor", "but", "vs", "versus"})
