"""Known errors: error codes and messages of the platforms (the YAML files here, and the user's
own files), what each means, and the filter it suggests."""
