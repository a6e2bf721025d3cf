// Safetensors reader and writer (safetensors.h). Being implemented.
