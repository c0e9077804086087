package invoke

// Command is a handler ready to start: what to execute, with which
// arguments, where. internal/handler finds it from the handler string.
type Command struct {
	Path string   // absolute path of the executable; Start refuses an empty one
	Args []string // arguments after the program name; nil: none
	Dir  string   // working directory for the handler (LAMBDA_TASK_ROOT); empty: the bootstrap's own
}
