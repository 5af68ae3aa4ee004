reset
{{setup}}
set output '{{png}}'
set title '{{ylabel}} over runs (oldest left), with 95% intervals'
set ylabel '{{ylabel}}'
set xlabel 'run start (UTC)'
set offsets 0.5, 0.5, 0, 0
set xtics rotate by 30 right
set bars small
# series: 1 test only, 2 current only, 3 both (a series with no defined point
# would make gnuplot give up on the whole plot)
if ({{series}} == 3) {
	plot '{{labels}}' using 1:(NaN):xticlabels(2) notitle, \
	     '{{data}}' using 1:3:4:5 with yerrorlines pt 7 ps 0.8 lc rgb '#2c6fbb' title 'test', \
	     '{{data}}' using ($1+0.08):6:7:8 with yerrorlines pt 5 ps 0.8 lc rgb '#d95f02' title 'current'
} else {
	if ({{series}} == 1) {
		plot '{{labels}}' using 1:(NaN):xticlabels(2) notitle, \
		     '{{data}}' using 1:3:4:5 with yerrorlines pt 7 ps 0.8 lc rgb '#2c6fbb' title 'test'
	} else {
		plot '{{labels}}' using 1:(NaN):xticlabels(2) notitle, \
		     '{{data}}' using ($1+0.08):6:7:8 with yerrorlines pt 5 ps 0.8 lc rgb '#d95f02' title 'current'
	}
}
unset output
