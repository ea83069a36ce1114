"""One pipeline per data kind: load data, build the model, then train, report and export."""
