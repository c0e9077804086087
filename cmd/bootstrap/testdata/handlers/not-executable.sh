this file is not executable
