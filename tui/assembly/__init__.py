"""Audio assembly: unit audio → chapter audio → m4b/mp3/opus/flac with marks, tags and cover."""
