package retro

// Memos returns how many queued jobs' keys s keeps, for the tests.
func (s *Service) Memos() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.memo)
}
